"""The credit flow's process lock, and what may be remembered while it is held.

``ProcessLock(select_for_update_lock)`` is viewflow's own ``select_for_update`` lock (``SELECT …
FOR UPDATE NOWAIT`` on the process row, retried with back-off, ``FlowLockFailed`` at the end),
unchanged, with a memo for the round it guards.

While it is held, the round's steps run in one transaction that already holds the application's
row lock after the first ``lock_application``; rows read in that round cannot change under
them except through the round itself. ``round_memo()`` gives the innermost held lock's dict, in
which the steps keep such rows (the locked application, a work group) instead of reading them
again for every node of the round. It is dropped with the lock: the next round reads afresh.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

__all__ = ["ProcessLock", "round_cached", "round_memo"]

_held = threading.local()


def round_memo() -> dict | None:
    """The memo of the innermost process lock held by this thread, or None without one."""
    stack = getattr(_held, "stack", None)
    return stack[-1] if stack else None


def round_cached(key, load):
    """``load()``, once per locked round for ``key`` (every time outside a round)."""
    memo = round_memo()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]


class ProcessLock:
    """Wraps a viewflow lock (``viewflow.workflow.lock.select_for_update_lock`` for every flow
    here): the wrapped lock is taken exactly as viewflow takes it, and a fresh memo is pushed
    for as long as it is held."""

    def __init__(self, wrapped):
        self.wrapped = wrapped

    @contextmanager
    def __call__(self, flow_class, process_pk):
        with self.wrapped(flow_class, process_pk):
            stack = getattr(_held, "stack", None)
            if stack is None:
                stack = _held.stack = []
            stack.append({})
            try:
                yield
            finally:
                stack.pop()
