"""The flow's task rows: viewflow's ``Task`` table, written faster."""

from __future__ import annotations

from viewflow.workflow.models import Task

from creditfactory.core.rows import RowWriter

__all__ = ["FlowTask"]


class FlowTask(Task):
    """viewflow's task (same table, a proxy), as ``CreditApplicationFlow.task_class``.

    viewflow saves a task row several times per node (created, started, done), each time through
    ``Model.save`` with every column. That is the same statement every time, so here it is built
    once per process (``creditfactory.core.rows.RowWriter``): a plain ``save()`` of a new task is
    one INSERT, of a stored one one UPDATE of every column, exactly as ``Model.save`` would write
    them. ``save`` with arguments (``update_fields`` …) and everything the writer does not take
    (another database, model signal receivers) goes through the ORM as before."""

    class Meta:
        proxy = True
        app_label = "workflows"

    def save(self, *args, **kwargs):
        if args or kwargs:
            return super().save(*args, **kwargs)
        if self.flow_task and not self.flow_task_type:  # as viewflow's AbstractTask.save
            self.flow_task_type = self.flow_task.task_type
        if self._state.adding and self.pk is None:
            _WRITER.insert(self)
        elif not _WRITER.update(self):
            super().save()  # no row with this key (or added with a key): the ORM's insert


_WRITER = RowWriter(FlowTask, replaces_save=True)
