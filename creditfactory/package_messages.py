"""Messages of the packages whose pages we show, for our catalogue: the viewflow frontend's, the
few of Django admin's that Django's own zh_Hans catalogue lacks, and django-axes's.

viewflow 2 ships a zh_Hans catalogue without a single translation, so under zh-hans its frame
(Inbox, Archive, Processes, Brief, Created, the task statuses, …) stayed English. Listing its
message ids here makes ``makemessages`` put them into ``locale/``, where they are translated with
the rest; ``LOCALE_PATHS`` is searched before the apps' catalogues, so ours win. Copied from
viewflow's ``locale/zh_Hans/LC_MESSAGES/django.po`` (its templates and Python); refresh when
viewflow is upgraded. Strings that viewflow's templates print without translating them (the
list pagination, the bulk action button, the navigation toggle) are overridden in
``templates/viewflow/`` and their messages are in those templates.

Django 5.2's admin added a few (its app list's hidden column headers) that its zh_Hans catalogue
does not have yet, and django-axes ships no Chinese at all: they are listed here the same way.

Nothing imports this module; it exists for ``makemessages``.
"""

from django.utils.translation import gettext_noop, ngettext_lazy, pgettext_lazy

VIEWFLOW_MESSAGES = (
    gettext_noop('Administration'),
    gettext_noop('Fantastic!'),
    gettext_noop('That looks awesome!'),
    gettext_noop('You are looking very well today!'),
    gettext_noop('I totally admire your spontaneity.'),
    gettext_noop('I like your new haircut.'),
    gettext_noop('What a beautiful costume!'),
    gettext_noop('You look very good in that suit'),
    gettext_noop('I love your style.'),
    gettext_noop('I love your hair today'),
    gettext_noop('That color looks great on you!'),
    gettext_noop('Format'),
    gettext_noop('YYYY'),
    gettext_noop('MM'),
    gettext_noop('DD'),
    gettext_noop('HH'),
    gettext_noop('SS'),
    gettext_noop('AM/PM'),
    gettext_noop('Transition is not allowed'),
    gettext_noop('%(label)s %(name)s'),
    gettext_noop('Invalid transition'),
    gettext_noop('Bad Request'),
    gettext_noop('View site'),
    gettext_noop('Access Forbidden'),
    gettext_noop('You are not logged in'),
    gettext_noop('%(user)s have no rights to access this page'),
    gettext_noop('Log in'),
    gettext_noop('Log in as another user'),
    gettext_noop('Page not found'),
    gettext_noop("We're sorry, but the requested page could not be found."),
    gettext_noop('Server error'),
    gettext_noop(
        "There's been an error. It's been reported to the site administrators via email "
        'and should be fixed shortly. Thanks for your patience.',
    ),
    gettext_noop('Recover deleted %(name)s'),
    gettext_noop('Graph'),
    gettext_noop('Filter'),
    gettext_noop('Home'),
    gettext_noop('Please correct the error below.'),
    gettext_noop('Please correct the errors below.'),
    gettext_noop('Yes, I’m sure'),
    gettext_noop('No, take me back'),
    gettext_noop('first step'),
    gettext_noop('prev step'),
    gettext_noop('Logout'),
    gettext_noop('Log out'),
    gettext_noop('Thanks for spending some quality time with the Web site today.'),
    gettext_noop('Log in again'),
    gettext_noop('Reset password'),
    gettext_noop('Profile'),
    gettext_noop('Your password was changed.'),
    gettext_noop('Change'),
    gettext_noop('Your password has been set.  You may go ahead and log in now.'),
    gettext_noop('Please enter your new password twice so we can verify you typed it in correctly.'),
    gettext_noop('Change my password'),
    gettext_noop(
        'The password reset link was invalid, possibly because it has already been '
        'used.  Please request a new password reset.',
    ),
    gettext_noop(
        'We’ve emailed you instructions for setting your password, if an account exists '
        'with the email you entered. You should receive them shortly.',
    ),
    gettext_noop(
        'If you don’t receive an email, please make sure you’ve entered the address you '
        'registered with, and check your spam folder.',
    ),
    gettext_noop(
        'Forgotten your password? Enter your email address below, and we’ll email '
        'instructions for setting a new one.',
    ),
    gettext_noop('Cancel'),
    gettext_noop('Reset'),
    gettext_noop('Change password'),
    gettext_noop('Edit'),
    gettext_noop('Submit'),
    gettext_noop('Login'),
    gettext_noop('Export'),
    ngettext_lazy(
        '\n                        Export the %(name)s\n                      ',
        '\n                        Export the %(objects_count)s '
        '%(plural_name)s\n                      ',
        1,
    ),
    gettext_noop('\n                        Export all %(plural_name)s\n                      '),
    gettext_noop('Back'),
    gettext_noop('Pick an action'),
    gettext_noop('Applications'),
    gettext_noop('Delete'),
    gettext_noop('"%(escaped_object)s" and all of the following related items will be deleted'),
    ngettext_lazy(
        '\n                        Are you sure you want to delete the %(name)s and '
        'related items?\n                      ',
        '\n                        Are you sure you want to delete the %(objects_count)s '
        '%(plural_name)s and related items?\n                      ',
        1,
    ),
    gettext_noop(
        '\n                        Are you sure you want to delete all %(plural_name)s '
        'and related items?\n                      ',
    ),
    gettext_noop('New'),
    gettext_noop('Add'),
    gettext_noop('Save'),
    gettext_noop('Confirm'),
    gettext_noop('Dashboard'),
    gettext_noop('Inbox'),
    gettext_noop('Queue'),
    gettext_noop('Archive'),
    gettext_noop('No rights to execute'),
    gettext_noop('Created'),
    gettext_noop('Assigned'),
    gettext_noop('Execute'),
    gettext_noop('Assign'),
    gettext_noop('View'),
    gettext_noop('Show all'),
    gettext_noop('Finished'),
    gettext_noop('Process list'),
    gettext_noop('#'),
    gettext_noop('Description'),
    gettext_noop('Owner'),
    gettext_noop('Started'),
    gettext_noop('Status'),
    gettext_noop('Start'),
    gettext_noop('Start and continue'),
    gettext_noop('Execute and continue'),
    gettext_noop('Assign and continue'),
    gettext_noop('Previous tasks'),
    gettext_noop('No previous tasks'),
    gettext_noop('Next tasks'),
    gettext_noop('No next tasks'),
    gettext_noop('Revive'),
    gettext_noop('Unassign'),
    gettext_noop('Undo'),
    gettext_noop('Assign selected tasks'),
    gettext_noop('Task'),
    gettext_noop('Brief'),
    gettext_noop('Process brief'),
    gettext_noop('confirm'),
    gettext_noop('Unassign selected tasks'),
    gettext_noop('New process'),
    gettext_noop('The {obj} was added successfully. {link}'),
    gettext_noop('The {obj} was deleted successfully.'),
    gettext_noop('The {obj} was changed successfully. {link}'),
    gettext_noop('Workflow'),
    gettext_noop('Task {task} has been assigned.'),
    gettext_noop('Task {task} has been unassigned.'),
    gettext_noop('Task {task} has been canceled.'),
    gettext_noop('Task {task} has been undone.'),
    gettext_noop('Task {task} has been revived.'),
    gettext_noop('Process #{self.object.pk} can not be canceled.'),
    gettext_noop('Process #{self.object.pk} has been canceled.'),
    gettext_noop('Process {process} has been started.'),
    gettext_noop('You have no rights to view this task'),
    gettext_noop('Task {task} has been completed.'),
    gettext_noop('Processes'),
    gettext_noop('Flow'),
    gettext_noop('Type'),
    gettext_noop('Previous'),
    gettext_noop('Token'),
    gettext_noop('External Task ID'),
    gettext_noop('Permission'),
    gettext_noop('Process'),
    gettext_noop('Tasks'),
    gettext_noop('Active'),
    gettext_noop('Canceled'),
    gettext_noop('Completed'),
    pgettext_lazy('STATUS', 'Canceled'),
    pgettext_lazy('STATUS', 'Done'),
    pgettext_lazy('STATUS', 'New'),
    pgettext_lazy('STATUS', 'Assigned'),
    pgettext_lazy('STATUS', 'Error'),
    pgettext_lazy('STATUS', 'Revived'),
    pgettext_lazy('STATUS', 'Scheduled'),
    pgettext_lazy('STATUS', 'Started'),
)

# viewflow sends this one untranslated (viewflow.views.actions); our snackbar template translates it.
VIEWFLOW_UNMARKED = (gettext_noop("No objects selected"),)

# Columns viewflow heads with their attribute's name (pretty_name): translated by
# workflows.backoffice.queues.TranslatedColumnsMixin.
VIEWFLOW_COLUMN_NAMES = (
    gettext_noop("Brief"),
    gettext_noop("Created"),
    gettext_noop("Process brief"),
    gettext_noop("Process id"),
    gettext_noop("Process summary"),
    gettext_noop("Active tasks"),
)

DJANGO_ADMIN_MESSAGES = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Error:"),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
)

AXES_MESSAGES = (
    gettext_noop('Access Attempt'),
    gettext_noop('Access lock out'),
    gettext_noop('Account locked: too many login attempts. Contact an admin to unlock your account.'),
    gettext_noop('Account locked: too many login attempts. Please try again later.'),
    gettext_noop('Attempt Remaining'),
    gettext_noop('Attempt Time'),
    gettext_noop('Clean up expired attempts'),
    gettext_noop('Expires At'),
    gettext_noop('Failed Logins'),
    gettext_noop('Form Data'),
    gettext_noop('GET Data'),
    gettext_noop('HTTP Accept'),
    gettext_noop('IP Address'),
    gettext_noop('Locked Out'),
    gettext_noop('Logout Time'),
    gettext_noop('Meta Data'),
    gettext_noop('No'),
    gettext_noop('Not set'),
    gettext_noop('POST Data'),
    gettext_noop('Path'),
    gettext_noop('Session key hash (sha256)'),
    gettext_noop('The time when access attempt expires and is no longer valid.'),
    gettext_noop('User Agent'),
    gettext_noop('Username'),
    gettext_noop('Yes'),
    gettext_noop('access attempt'),
    gettext_noop('access attempt expiration'),
    gettext_noop('access attempt expirations'),
    gettext_noop('access attempts'),
    gettext_noop('access failure'),
    gettext_noop('access failures'),
    gettext_noop('access log'),
    gettext_noop('access logs'),
)
