"""Status changes go through one function that refuses an illegal move and records the change."""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import fastpath
from .models import StateTransition


class IllegalTransition(Exception):
    def __init__(self, obj, from_state, to_state):
        self.from_state, self.to_state = from_state, to_state
        super().__init__(
            _("%(model)s cannot move from %(from)s to %(to)s.")
            % {"model": obj._meta.verbose_name, "from": from_state, "to": to_state}
        )


@dataclass(frozen=True)
class StateMachine:
    """Allowed moves: {from_state: {to_state, ...}}."""

    transitions: dict[str, frozenset[str]] = field(default_factory=dict)

    def allows(self, from_state: str, to_state: str) -> bool:
        return to_state in self.transitions.get(from_state, frozenset())


def _logged_label(actor, actor_label: str) -> str:
    """The log's ``actor_label``: as given, else "system" when no user acted."""
    return actor_label or ("" if getattr(actor, "pk", None) else "system")


def _has_updated_at(model) -> bool:
    return any(f.name == "updated_at" for f in model._meta.concrete_fields)


def transition_entry(obj, *, from_state, to_state, actor=None, actor_label="", reason="", field="status"):
    """The unsaved log entry ``record_transition`` writes (for a caller that inserts it with the
    row it logs, in one statement)."""
    return StateTransition(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=str(obj.pk) if obj.pk is not None else "",
        field=field,
        from_state=from_state or "",
        to_state=to_state,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=_logged_label(actor, actor_label),
        reason=reason,
    )


def record_transition(obj, *, from_state, to_state, actor=None, actor_label="", reason="", field="status"):
    return fastpath.state_transition_insert(transition_entry(
        obj, from_state=from_state, to_state=to_state, actor=actor, actor_label=actor_label, reason=reason,
        field=field))


def change_state(obj, *, to_state, machine: StateMachine, actor=None, actor_label="", reason="", field="status",
                 extra_update_fields=()):
    """Move ``obj.<field>`` to ``to_state`` if the machine allows it; save and log. Call inside a
    transaction with ``obj`` locked (by its app's ``locks.py``) when concurrent moves are possible."""
    from_state = getattr(obj, field)
    if not machine.allows(from_state, to_state):
        raise IllegalTransition(obj, from_state, to_state)
    setattr(obj, field, to_state)
    update_fields = [field, *extra_update_fields]
    if _has_updated_at(obj):
        update_fields.append("updated_at")
    entry = transition_entry(obj, from_state=from_state, to_state=to_state, actor=actor, actor_label=actor_label,
                             reason=reason, field=field)
    if fastpath.state_fields_save_and_log(obj, update_fields, entry):  # one statement where it can
        return entry
    fastpath.state_fields_save(obj, update_fields)
    return fastpath.state_transition_insert(entry)


def change_state_where(model, pk, *, from_state, to_state, machine: StateMachine, actor=None, actor_label="",
                       reason="", field="status") -> bool:
    """``change_state`` for a row that is not loaded: a conditional ``UPDATE … WHERE <field> =
    from_state`` moves it (taking its row lock) and the move is logged as by ``change_state``,
    both in **one statement** on PostgreSQL (the log row is inserted from the UPDATE's
    ``RETURNING``, so it exists exactly when the row moved; atomic on its own). Returns
    False, changing and logging nothing, when the row is not in ``from_state``."""
    stub = model(pk=pk)
    if not machine.allows(from_state, to_state):
        raise IllegalTransition(stub, from_state, to_state)
    if connection.vendor != "postgresql":  # SQLite (make run) has no UPDATE inside WITH: two statements
        values = {field: to_state}
        if _has_updated_at(model):
            values["updated_at"] = timezone.now()
        with transaction.atomic(savepoint=False):
            if not model._default_manager.filter(pk=pk, **{field: from_state}).update(**values):
                return False
            record_transition(stub, from_state=from_state, to_state=to_state, actor=actor, actor_label=actor_label,
                              reason=reason, field=field)
        return True
    now = timezone.now()
    values = {field: to_state}
    if _has_updated_at(model):
        values["updated_at"] = now
    log = {
        "content_type_id": ContentType.objects.get_for_model(model, for_concrete_model=True).pk,
        "object_id": str(pk), "field": field, "from_state": from_state or "", "to_state": to_state,
        "actor_id": getattr(actor, "pk", None), "actor_label": _logged_label(actor, actor_label), "reason": reason,
        "at": now,
    }
    return fastpath.state_move_and_log(model, pk, field=field, from_state=from_state, values=values, log=log)


def transitions_for(obj):
    return StateTransition.objects.filter(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True), object_id=str(obj.pk)
    ).select_related("actor")
