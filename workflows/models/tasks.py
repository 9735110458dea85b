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

    def defer_insert(self, *, previous) -> None:
        """Insert this new task at its first ``save()`` (with the status it has then), linked to
        ``previous`` then: a node that completes in the round that creates it (a function, a
        job scheduled at once, an end) is one INSERT instead of an INSERT and an UPDATE
        (``workflows.nodes.deferred_create``)."""
        self._insert_previous = previous

    def save(self, *args, **kwargs):
        if self.flow_task and not self.flow_task_type:  # as viewflow's AbstractTask.save
            self.flow_task_type = self.flow_task.task_type
        previous = self.__dict__.pop("_insert_previous", None)
        if previous is not None and self.pk is None:
            kwargs.pop("update_fields", None)  # the first save of a deferred task writes the whole row
            from ..fastpath import task_insert_linked  # the fast path imports the models

            if not args and not kwargs and task_insert_linked(self, previous_pk=previous.pk):
                return None
            result = super().save(*args, **kwargs)
            self.previous.add(previous)
            return result
        return super().save(*args, **kwargs)

    def insert_linked(self, *, previous) -> None:
        """Insert this new task linked to ``previous`` (``task.save(); task.previous.add(previous)``,
        as viewflow's ``Activation.create``) in one statement where it can
        (``workflows.fastpath.task_insert_linked``)."""
        from ..fastpath import task_insert_linked  # the fast path imports the models

        if not task_insert_linked(self, previous_pk=previous.pk):
            self.save()
            self.previous.add(previous)

    def __hash__(self):
        # A deferred task is hashed (viewflow keeps activations in sets) before it has a key.
        return id(self) if self.pk is None else super().__hash__()

