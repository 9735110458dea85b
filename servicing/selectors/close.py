"""Reads of the daily close's runs for the back office: the list of runs with their progress, one
run's figures per phase and its failures, and the queues of post-loan decisions (offline
repayments to verify, refunds and write-offs to approve), branch-scoped."""

from __future__ import annotations

from collections import Counter

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from servicing.models import (
    CloseChunkStatus, CloseRun, CloseStage, CreditBalanceRefund, RefundStatus, Repayment, RepaymentStatus,
    WriteOffRequest, WriteOffStatus,
)

__all__ = ["CLOSE_PHASES", "close_run_figures", "close_runs", "pending_refunds", "pending_repayments",
           "pending_write_offs", "run_progress"]

# The phases of a close and what their counts count, as staff read them.
CLOSE_PHASES = {
    "lock": _("Locking the loans"), "accrue": _("Overdue, interest and penalty accrual"),
    "ledger": _("Ledger entries"), "statuses": _("Status changes"), "advance": _("Business date advanced"),
    "lines_expired": _("Credit lines expired"), "due": _("Installments falling due"), "fees": _("Fees falling due"),
    "reminders": _("Reminders sent"), "write_off": _("Write-offs proposed"), "handover": _("Collections hand-over"),
    "monitoring": _("Post-loan monitoring"), "loans": _("Loans closed"), "installments": _("Installments updated"),
    "parts": _("Funding parts updated"), "overdue": _("Installments newly overdue"),
    "interest": _("Installments accruing interest"), "penalty": _("Installments accruing penalty interest"),
    "status_changes": _("Loan status changes"), "journal_entries": _("Journal entries"),
    "webhooks": _("Partner notifications"), "credit_applied": _("Credit balances applied"),
}


def close_runs() -> QuerySet:
    return CloseRun.objects.select_related("actor").order_by("-business_date", "-id")


def run_progress(run: CloseRun) -> int:
    """Percent of the current stage's chunks finished (done or failed); 100 once the run ended."""
    if run.stage == CloseStage.DONE:
        return 100
    if not run.chunks_total:
        return 0
    return int(100 * (run.chunks_done + run.chunks_failed) / run.chunks_total)


def close_run_figures(run: CloseRun) -> dict:
    """Per phase (the chunks' and the run's own figures summed): rows counted and seconds; per
    stage the chunks done, failed and in all; every failure with its loan."""
    counts, seconds = Counter(run.counts), Counter(run.seconds)
    stages, failures = {}, []
    for chunk in run.chunks.order_by("stage", "seq"):
        counts.update(chunk.counts)
        seconds.update(chunk.seconds)
        stage = stages.setdefault(chunk.stage, {"label": chunk.get_stage_display(), "total": 0,
                                                CloseChunkStatus.DONE: 0, CloseChunkStatus.FAILED: 0,
                                                CloseChunkStatus.PENDING: 0})
        stage["total"] += 1
        stage[chunk.status] += 1
        for failure in chunk.failures:
            failures.append({**failure, "chunk": chunk.seq, "stage": chunk.get_stage_display()})
    phases = sorted(set(counts) | set(seconds), key=lambda name: list(CLOSE_PHASES).index(name)
                    if name in CLOSE_PHASES else len(CLOSE_PHASES))
    stages = [{"label": st["label"], "total": st["total"], "done": st[CloseChunkStatus.DONE],
               "failed": st[CloseChunkStatus.FAILED], "pending": st[CloseChunkStatus.PENDING]}
              for st in stages.values()]
    return {"phases": [{"code": name, "count": counts.get(name), "seconds": round(seconds[name], 3)
                        if name in seconds else None} for name in phases],
            "stages": stages, "failures": failures,
            "seconds": round(sum(seconds.values()), 3)}


def pending_repayments(user) -> QuerySet:
    """Bank transfers registered and awaiting verification that ``user`` may see, oldest first."""
    from creditfactory.organisations.scoping import scope_queryset

    queryset = (Repayment.objects.filter(status=RepaymentStatus.PENDING_VERIFICATION)
                .select_related("loan__applicant", "entered_by").order_by("created_at", "id"))
    return scope_queryset(queryset, user, branch_field="loan__branch")


def pending_refunds(user) -> QuerySet:
    from creditfactory.organisations.scoping import scope_queryset

    queryset = (CreditBalanceRefund.objects.filter(status=RefundStatus.REQUESTED)
                .select_related("loan__applicant", "requested_by").order_by("created_at", "id"))
    return scope_queryset(queryset, user, branch_field="loan__branch")


def pending_write_offs(user) -> QuerySet:
    from creditfactory.organisations.scoping import scope_queryset

    queryset = (WriteOffRequest.objects.filter(status=WriteOffStatus.PENDING)
                .select_related("loan__applicant", "loan__product_version__product", "proposed_by")
                .order_by("proposed_on", "id"))
    return scope_queryset(queryset, user, branch_field="loan__branch")
