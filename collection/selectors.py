"""Reads of the collections app: a loan's collection summary (for the loan API), an agency's
cases, a collector's workbench and the case page."""

from __future__ import annotations

from django.db.models import F, QuerySet

from .models import CaseStatus, Classification, CollectionCase, LoanClass

__all__ = ["agency_cases", "loan_collection_summaries"]


def loan_collection_summaries(loan_ids) -> dict[int, dict]:
    """{loan id: {"case", "status", "bucket", "classification"}} — the loan's open case, else its
    last one (nulls when it never had one) — in two queries for any number of loans."""
    ids = list(loan_ids)
    cases = {row["loan_id"]: row for row in (
        CollectionCase.objects.filter(loan_id__in=ids).order_by("loan_id", F("closed_on").desc(nulls_first=True),
                                                                 "-id")
        .distinct("loan_id").values("loan_id", "id", "status", "bucket"))}
    classes = dict(LoanClass.objects.filter(loan_id__in=ids).values_list("loan_id", "classification"))
    summaries = {}
    for loan_id in ids:
        case = cases.get(loan_id)
        summaries[loan_id] = {
            "case": case["id"] if case else None,
            "status": case["status"] if case else None,
            "bucket": (case["bucket"] or None) if case else None,
            "classification": classes.get(loan_id, Classification.NORMAL.value),
        }
    return summaries


def agency_cases(agency) -> QuerySet[CollectionCase]:
    """The cases that are the agency's now (open, assigned to it)."""
    return (CollectionCase.objects.filter(agency=agency, status=CaseStatus.OPEN)
            .select_related("loan__applicant", "loan__product_version__product").order_by("-opened_on", "-id"))
