"""The flow's task rows: viewflow's ``Task`` table, written faster."""

from __future__ import annotations

from viewflow.workflow.models import Task

from creditfactory.core.rows import RowWriterSaveMixin

__all__ = ["FlowTask"]


class FlowTask(RowWriterSaveMixin, Task):
    """viewflow's task (same table, a proxy), as ``CreditApplicationFlow.task_class``.

    viewflow saves a task row several times per node (created, scheduled, started, done), each time
    through ``Model.save``; here each of those statements is built once per process
    (``creditfactory.core.rows.RowWriterSaveMixin``) and sends exactly what ``Model.save`` would.

    (Not done for the process: viewflow names the flow's permissions after ``process_class``, so
    a proxy there would rename every role's process permissions.)"""

    class Meta:
        proxy = True
        app_label = "workflows"
        # viewflow's task lists show the model's names: the same as viewflow's own
        verbose_name = Task._meta.verbose_name
        verbose_name_plural = Task._meta.verbose_name_plural

    def save(self, *args, **kwargs):
        if self.flow_task and not self.flow_task_type:  # as viewflow's AbstractTask.save
            self.flow_task_type = self.flow_task.task_type
        return super().save(*args, **kwargs)
