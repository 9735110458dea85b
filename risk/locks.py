"""Every row lock the risk app takes, by name (Saleor's ``lock_objects`` idea): nothing else in
risk calls ``select_for_update``. Call them inside the caller's transaction; each returns the
locked row(s) (``None`` where the row may not exist) and keeps the lock until that transaction
ends.

Orders that matter: a forced re-assessment locks the application's row before its current
decision (``application_row_lock`` then ``current_decision_lock``), the order the credit flow's
own steps take the application in.
"""

from __future__ import annotations

from .fastpath import APPLICANT_BY_ID_NUMBER_LOCKED
from .models import Applicant, Decision, DecisionStatus, Enterprise, ListImportJob, RiskListEntry, RiskPolicy

__all__ = ["applicant_lock", "applicant_lock_existing", "application_row_lock", "current_decision_lock",
           "enterprise_lock", "enterprise_lock_existing", "list_entries_lock", "list_entry_by_value_lock",
           "list_entry_lock", "list_import_job_lock", "risk_policy_lock", "working_copy_lock"]


# --- decisions -----------------------------------------------------------------------------------------


def application_row_lock(application_id: int):
    """The decided application's row (the primary key alone), locked. The application is the credit
    flow's (``"workflows.CreditApplication"``): it is reached through the decision's foreign key,
    so risk imports nothing of the flow's app. Raises ``DoesNotExist`` when it is gone."""
    model = Decision._meta.get_field("application").related_model
    return model.objects.select_for_update().only("pk").get(pk=application_id)


def current_decision_lock(application_id: int) -> Decision | None:
    """The application's current decision, locked, or None."""
    return Decision.objects.select_for_update().filter(application_id=application_id,
                                                       status=DecisionStatus.CURRENT).first()


# --- applicants ----------------------------------------------------------------------------------------


def applicant_lock(id_number_index: str) -> Applicant | None:
    """The applicant with this ID number's blind index, locked, or None. Every application looks
    its applicant up this way, so the statement is prebuilt (``risk.fastpath``)."""
    return APPLICANT_BY_ID_NUMBER_LOCKED.get(id_number_index)


def applicant_lock_existing(id_number_index: str) -> Applicant:
    """As ``applicant_lock`` for an applicant known to exist (another transaction just created
    it); raises ``DoesNotExist`` otherwise."""
    return Applicant.objects.select_for_update().get(id_number_index=id_number_index)


def enterprise_lock(credit_code: str) -> Enterprise | None:
    """The enterprise with this unified social credit code, locked, or None."""
    return Enterprise.objects.select_for_update().filter(credit_code=credit_code).first()


def enterprise_lock_existing(credit_code: str) -> Enterprise:
    """As ``enterprise_lock`` for an enterprise known to exist; raises ``DoesNotExist`` otherwise."""
    return Enterprise.objects.select_for_update().get(credit_code=credit_code)


# --- lists ---------------------------------------------------------------------------------------------


def list_entry_by_value_lock(*, list_type: str, kind: str, value_index: str) -> RiskListEntry | None:
    """The entry of this value on this list (active or not), locked, or None."""
    return RiskListEntry.objects.select_for_update().filter(list_type=list_type, kind=kind,
                                                            value_index=value_index).first()


def list_entry_lock(pk: int) -> RiskListEntry:
    """One list entry, locked."""
    return RiskListEntry.objects.select_for_update().get(pk=pk)


def list_entries_lock(value_indexes) -> list[RiskListEntry]:
    """Every entry (any list, any kind) of these values, locked: an import's chunk."""
    return list(RiskListEntry.objects.select_for_update().filter(value_index__in=value_indexes))


def list_import_job_lock(pk: int) -> ListImportJob:
    """A list import, locked: one worker at a time moves it on."""
    return ListImportJob.objects.select_for_update().get(pk=pk)


# --- policies ------------------------------------------------------------------------------------------


def working_copy_lock(model, pk: int):
    """A rule set's, scorecard's or strategy's working copy (its row alone) with its current
    published version, locked while a new version is published."""
    return model.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=pk)


def risk_policy_lock(product) -> RiskPolicy | None:
    """The risk policy of ``product``, locked, or None."""
    return RiskPolicy.objects.select_for_update().filter(product=product).first()
