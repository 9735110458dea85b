"""Row locks of the organisation's records: every ``select_for_update`` of the app is here, by
name. Each function must run inside a transaction; the lock is held until it ends."""

from .models import WorkGroup


def work_group_lock(pk) -> WorkGroup:
    """The work group, locked: concurrent dispatches advance its round-robin cursor one at a time."""
    return WorkGroup.objects.select_for_update().get(pk=pk)
