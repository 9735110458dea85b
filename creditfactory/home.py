""""My work" (我的工作): the landing page of roles whose work is not (yet) in the credit flow's
inbox — disbursement reviewers, collectors, product and risk-policy admins — and a page every
member of staff may open: their roles and what each is for, their work groups with the tasks
waiting in each queue, the back-office sections and the configuration (admin) they look after."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from viewflow.urls import AppMenuMixin, Viewset

from creditfactory.organisations.models import Role
from workflows.selectors.dashboard import open_tasks_by_work_group


def _roles(user) -> list[dict]:
    roles = Role.objects.filter(group__user=user).select_related("group").order_by("code")
    return [{"name": role.group.name, "description": _(role.description) if role.description else ""}
            for role in roles]


def _work_groups(user) -> list[dict]:
    groups = list(user.work_groups.select_related("branch").order_by("branch__path", "code"))
    waiting = open_tasks_by_work_group(groups)
    return [{"name": group.name, "branch": group.branch.name, "is_lead": group.lead_id == user.pk,
             "waiting": waiting.get(group.pk, 0)} for group in groups]


def _configuration(user) -> list[dict]:
    """Admin pages of the models this user may change (an admin role's own work)."""
    if not user.is_staff:
        return []
    pages = []
    for model in admin.site._registry:
        opts = model._meta
        if not user.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
            continue
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        except NoReverseMatch:
            continue
        pages.append({"name": str(opts.verbose_name_plural).capitalize(), "url": url})
    return sorted(pages, key=lambda page: page["name"])


def _sections(user, site) -> list[dict]:
    """The back-office pages this user may open, as the sidebar offers them."""
    sections = []
    for app in site.viewsets:
        if not hasattr(app, "menu_items") or not app.has_view_permission(user):
            continue
        for child in app.menu_items():
            if not isinstance(child, HomeViewset) and child.has_view_permission(user):
                sections.append({"name": str(child.title), "url": child.reverse("index")})
    return sections


class MyWorkView(LoginRequiredMixin, TemplateView):
    template_name = "backoffice/my_work.html"

    def get_context_data(self, **kwargs):
        from creditfactory.backoffice import site  # the site is built from this module's viewset

        user = self.request.user
        return super().get_context_data(
            roles=_roles(user), work_groups=_work_groups(user), configuration=_configuration(user),
            sections=_sections(user, site), **kwargs)


class HomeViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("My work")
    icon = "home"
    app_name = "work"
    index_path = path("", MyWorkView.as_view(), name="index")

    def has_view_permission(self, user, obj=None):
        return bool(user and user.is_authenticated)
