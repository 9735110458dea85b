"""The Celery application. Configuration lives in Django settings under the CELERY_ prefix."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")

app = Celery("creditfactory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_database_connections(sender=None, **kwargs):
    """Around every task, what Django does around every request: close a connection that is
    broken or older than CONN_MAX_AGE, keep the others (CELERY_DB_REUSE_MAX keeps Celery's
    fix-up from closing every one). Eager tasks run inside their caller's transaction: untouched."""
    if sender is None or getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
