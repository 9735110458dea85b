"""Reads of the collections app: a loan's collection summary (for the loan API), an agency's
cases, a collector's workbench and the case page."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, QuerySet, Sum

from creditfactory.core.money import ZERO, money_context, quantize_fen
from servicing.models import Repayment, RepaymentStatus

from .models import (
    Agency, AgencyAssignment, Bucket, CaseStageChange, CaseStatus, Classification, CloseReason, CollectionCase,
    ComplianceRefusal, Contact, ContactChannel, ContactResult, FieldVisit, LegalReferral, LegalReferralStatus,
    LoanClass, Promise, PromiseStatus, VisitResult,
)

__all__ = ["agency_cases", "collection_figures", "figure_cases", "loan_collection_summaries", "workbench_cases"]


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


_PRIORITIES = {
    "amount_dpd": lambda: F("loan__principal_outstanding") * F("loan__days_past_due"),
    "amount": lambda: F("loan__principal_outstanding"),
    "dpd": lambda: F("loan__days_past_due"),
}


def workbench_cases(user) -> QuerySet[CollectionCase]:
    """A collector's open cases — their own and their work groups' — by priority, highest first:
    what the compliance policy's ``workbench_priority`` names (default principal outstanding ×
    DPD), ties by DPD then the oldest case."""
    from .models import CompliancePolicy

    basis = (CompliancePolicy.objects.order_by("id").values_list("workbench_priority", flat=True).first()
             or "amount_dpd")
    return (CollectionCase.objects.filter(status=CaseStatus.OPEN)
            .filter(Q(collector=user) | Q(work_group__members=user, collector__isnull=True)).distinct()
            .select_related("loan__applicant", "loan__product_version__product", "work_group", "collector")
            .annotate(priority=_PRIORITIES.get(basis, _PRIORITIES["amount_dpd"])())
            .order_by("-priority", "-loan__days_past_due", "id"))


def agency_cases(agency) -> QuerySet[CollectionCase]:
    """The cases that are the agency's now (open, assigned to it)."""
    return (CollectionCase.objects.filter(agency=agency, status=CaseStatus.OPEN)
            .select_related("loan__applicant", "loan__product_version__product").order_by("-opened_on", "-id"))


# --- the figures page ------------------------------------------------------------------------------

def _ratio(part, whole) -> Decimal | None:
    """A rate in percent, two places (None when there is nothing to divide by)."""
    if not whole:
        return None
    with money_context():
        return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def figure_cases(*, product=None, branch=None, funder=None, date_from=None, date_to=None) -> QuerySet:
    """The cases the figures count: opened from ``date_from`` through ``date_to``, of loans of the
    product / branch / funder."""
    cases = CollectionCase.objects.all()
    if product is not None:
        cases = cases.filter(loan__product_version__product=product)
    if branch is not None:
        cases = cases.filter(loan__branch=branch)
    if funder is not None:
        cases = cases.filter(loan__parts__funder=funder)
    if date_from is not None:
        cases = cases.filter(opened_on__gte=date_from)
    if date_to is not None:
        cases = cases.filter(opened_on__lte=date_to)
    return cases


def _recovered(cases) -> dict[int, Decimal]:
    """{case id: what the borrower repaid from the day the case opened until it closed}."""
    rows = (Repayment.objects.filter(status=RepaymentStatus.POSTED, loan__collection_cases__in=cases,
                                     value_date__gte=F("loan__collection_cases__opened_on"))
            .filter(Q(loan__collection_cases__closed_on__isnull=True)
                    | Q(value_date__lt=F("loan__collection_cases__closed_on")))
            .values("loan__collection_cases").annotate(total=Sum(F("amount") - F("credit_balance"))))
    return {row["loan__collection_cases"]: row["total"] for row in rows}


def collection_figures(**filters) -> dict:
    """Recovery rate by bucket (repaid while the case was open ÷ (that + what the loan still
    owes), by the bucket the case is in or closed in), roll rates (cases that entered a bucket
    and went on into the next), cure rate (cases closed current again or paid off ÷ cases
    opened), promise-kept rate (kept ÷ evaluated), collector and agency performance (contacts,
    promises, field visits, legal referrals requested), field visits and legal referrals by the
    bucket the case was in then, the voice robot's reminders (placed, answered, not answered,
    failed, still calling) and the compliance refusals by rule. Rates in percent to two places."""
    cases = figure_cases(**filters)
    rows = list(cases.values("id", "bucket", "status", "close_reason", "loan__principal_outstanding",
                             "loan__interest_receivable", "loan__penalty_receivable", "loan__fee_receivable"))
    recovered = _recovered(cases)
    buckets = list(Bucket.objects.filter(min_dpd__gte=1).order_by("min_dpd").values_list("code", flat=True))
    by_bucket = {code: {"cases": 0, "recovered": ZERO, "owed": ZERO} for code in buckets}
    for row in rows:
        entry = by_bucket.setdefault(row["bucket"], {"cases": 0, "recovered": ZERO, "owed": ZERO})
        entry["cases"] += 1
        entry["recovered"] += recovered.get(row["id"], ZERO)
        if row["status"] == CaseStatus.OPEN:
            entry["owed"] += (row["loan__principal_outstanding"] + row["loan__interest_receivable"]
                              + row["loan__penalty_receivable"] + row["loan__fee_receivable"])
    recovery = [{"bucket": code, "cases": v["cases"], "recovered": v["recovered"], "owed": v["owed"],
                 "rate": _ratio(v["recovered"], v["recovered"] + v["owed"])} for code, v in by_bucket.items()]
    entered = {}
    for case_id, bucket in CaseStageChange.objects.filter(case__in=cases).values_list("case_id", "to_bucket"):
        entered.setdefault(bucket, set()).add(case_id)
    rolls = [{"from": a, "to": b, "entered": len(entered.get(a, ())),
              "rolled": len(entered.get(a, set()) & entered.get(b, set())),
              "rate": _ratio(len(entered.get(a, set()) & entered.get(b, set())), len(entered.get(a, ())))}
             for a, b in zip(buckets, buckets[1:])]
    cured = sum(1 for row in rows if row["close_reason"] in (CloseReason.CURED, CloseReason.PAID_OFF))
    promises = Promise.objects.filter(case__in=cases)
    kept = promises.filter(status=PromiseStatus.KEPT).count()
    broken = promises.filter(status=PromiseStatus.BROKEN).count()
    collectors = {}

    def collector(name):
        return collectors.setdefault(name, {"contacts": 0, "promises": 0, "kept": 0, "kept_amount": ZERO,
                                            "visits": 0, "legal_referrals": 0})

    for row in (Contact.objects.filter(case__in=cases, collector__isnull=False)
                .values("collector__username").annotate(n=Count("id"), visits=Count(
                    "id", filter=Q(channel=ContactChannel.VISIT)))):
        collector(row["collector__username"]).update(contacts=row["n"], visits=row["visits"])
    for row in (promises.filter(collector__isnull=False).values("collector__username")
                .annotate(n=Count("id"), k=Count("id", filter=Q(status=PromiseStatus.KEPT)),
                          paid=Sum("paid", filter=Q(status=PromiseStatus.KEPT)))):
        collector(row["collector__username"]).update(promises=row["n"], kept=row["k"], kept_amount=row["paid"] or ZERO)
    referrals = LegalReferral.objects.filter(case__in=cases)
    for row in (referrals.filter(requested_by__isnull=False).values("requested_by__username")
                .annotate(n=Count("id"))):
        collector(row["requested_by__username"])["legal_referrals"] = row["n"]
    agencies = []
    for agency in Agency.objects.filter(assignments__case__in=cases).distinct().order_by("code"):
        commission = _agency_commission(agency, cases)
        contacts = Contact.objects.filter(case__in=cases, agency=agency)
        agencies.append({"agency": agency, "contacts": contacts.count(),
                         "visits": contacts.filter(channel=ContactChannel.VISIT).count(),
                         "legal_referrals": referrals.filter(agency=agency).count(),
                         "promises": promises.filter(agency=agency).count(), **commission})
    fieldwork = {code: {"visits": 0, "met": 0, "legal_referrals": 0, "legal_approved": 0} for code in buckets}
    for row in (FieldVisit.objects.filter(case__in=cases).values("bucket")
                .annotate(n=Count("id"), met=Count("id", filter=~Q(result=VisitResult.NOT_FOUND)))):
        fieldwork.setdefault(row["bucket"], {"visits": 0, "met": 0, "legal_referrals": 0, "legal_approved": 0}
                             ).update(visits=row["n"], met=row["met"])
    for row in (referrals.values("bucket").annotate(
            n=Count("id"), approved=Count("id", filter=Q(status=LegalReferralStatus.APPROVED)))):
        fieldwork.setdefault(row["bucket"], {"visits": 0, "met": 0, "legal_referrals": 0, "legal_approved": 0}
                             ).update(legal_referrals=row["n"], legal_approved=row["approved"])
    calls = Contact.objects.filter(case__in=cases, channel=ContactChannel.VOICE).aggregate(
        placed=Count("id"), answered=Count("id", filter=Q(result=ContactResult.REACHED)),
        no_answer=Count("id", filter=Q(result=ContactResult.NO_ANSWER)),
        failed=Count("id", filter=Q(result=ContactResult.FAILED)),
        calling=Count("id", filter=Q(result=ContactResult.CALLING)))
    calls["answer_rate"] = _ratio(calls["answered"], calls["placed"] - calls["calling"])
    refusals = dict(ComplianceRefusal.objects.filter(case__in=cases).values_list("rule")
                    .annotate(n=Count("id")).values_list("rule", "n"))
    return {"cases": len(rows), "recovery": recovery, "rolls": rolls, "cured": cured,
            "cure_rate": _ratio(cured, len(rows)), "promises_kept": kept, "promises_broken": broken,
            "promise_kept_rate": _ratio(kept, kept + broken),
            "collectors": [{"collector": name, **values} for name, values in sorted(collectors.items())],
            "agencies": agencies, "refusals": refusals,
            "fieldwork": [{"bucket": code, **values} for code, values in fieldwork.items()], "voice": calls}


def _agency_commission(agency, cases) -> dict:
    recovered = commission = ZERO
    for assignment in AgencyAssignment.objects.filter(agency=agency, case__in=cases).select_related("case"):
        rows = Repayment.objects.filter(loan_id=assignment.case.loan_id, status=RepaymentStatus.POSTED,
                                        value_date__gte=assignment.start)
        if assignment.end is not None:
            rows = rows.filter(value_date__lt=assignment.end)
        amount = rows.aggregate(total=Sum(F("amount") - F("credit_balance")))["total"] or ZERO
        with money_context():
            commission += quantize_fen(amount * assignment.commission_percent / 100)
        recovered += amount
    return {"recovered": recovered, "commission": commission}
