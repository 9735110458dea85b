"""Reads of loans for the API, the back office and admin: one query for the loan, one each for its
parts and installments, however many loans a page lists."""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from servicing.models import (
    CreditBalanceRefund, Installment, JournalEntry, Loan, LoanPart, RefundStatus, Repayment, RepaymentSource,
    RepaymentStatus,
)

__all__ = ["DPD_BUCKETS", "LOAN_SORTS", "TRANSACTION_TYPES", "dpd_bucket", "loan_balances", "loan_filter",
           "loan_journal", "loan_portfolio_for", "loan_queryset", "loan_refunds", "loan_repayments", "loan_transactions"]

# Days-past-due buckets of the portfolio (M0 = nothing overdue; M1 = 1–30 days, … ; M3+ = over 90).
DPD_BUCKETS = {
    "M0": (_("M0 (not overdue)"), Q(days_past_due=0)),
    "M1": (_("M1 (1–30 days)"), Q(days_past_due__gte=1, days_past_due__lte=30)),
    "M2": (_("M2 (31–60 days)"), Q(days_past_due__gte=31, days_past_due__lte=60)),
    "M3": (_("M3 (61–90 days)"), Q(days_past_due__gte=61, days_past_due__lte=90)),
    "M3+": (_("M3+ (over 90 days)"), Q(days_past_due__gt=90)),
}

# The kinds of a loan's money events (``loan_transactions``), as staff read them.
TRANSACTION_TYPES = {
    "disbursement": _("Disbursement"), "repayment": _("Repayment"),
    "credit_applied": _("Credit balance applied"), "refund": _("Credit balance refunded"),
}

# Sort keys of the portfolio list → the ordering (each backed by an index on the loan, id last).
LOAN_SORTS = {
    "-value_date": (_("Newest first"), ("-value_date", "-id")),
    "value_date": (_("Oldest first"), ("value_date", "id")),
    "-days_past_due": (_("Most days past due first"), ("-days_past_due", "-id")),
    "-principal_outstanding": (_("Largest principal outstanding first"), ("-principal_outstanding", "-id")),
    "maturity_date": (_("Maturing first"), ("maturity_date", "id")),
    "number": (_("Loan number"), ("number",)),
}


def dpd_bucket(days_past_due: int) -> str:
    """The bucket code (``M0`` … ``M3+``) of a number of days past due."""
    if days_past_due <= 0:
        return "M0"
    if days_past_due > 90:
        return "M3+"
    return f"M{(days_past_due - 1) // 30 + 1}"


def loan_queryset() -> QuerySet:
    return (Loan.objects.select_related("drawdown", "credit_line", "product_version__product", "applicant",
                                        "branch")
            .prefetch_related(Prefetch("parts", LoanPart.objects.select_related("funder").order_by("-lead", "id")),
                              Prefetch("installments", Installment.objects.order_by("number"))))


def loan_portfolio_for(user) -> QuerySet:
    """The loans ``user`` may see, for a list page: the loan's own row, its product, borrower and
    branch, and its funding parts (not the schedule)."""
    from creditfactory.organisations.scoping import scope_queryset

    queryset = (Loan.objects.select_related("product_version__product", "applicant", "branch")
                .prefetch_related(Prefetch("parts", LoanPart.objects.select_related("funder").order_by("-lead", "id"))))
    return scope_queryset(queryset, user)


def loan_filter(queryset: QuerySet, *, credit_line: int | None = None, status: str | None = None,
                product: str | None = None, funder: str | None = None, branch=None, dpd: str | None = None,
                sort: str | None = None) -> QuerySet:
    """Filter loans (each filter an indexed condition; the funder as a semi-join on its parts, so
    no ``DISTINCT`` over the portfolio) and order them by ``sort`` (a ``LOAN_SORTS`` key; default
    newest value date first)."""
    if credit_line is not None:
        queryset = queryset.filter(credit_line_id=credit_line)
    if status:
        queryset = queryset.filter(status=status)
    if product:
        queryset = queryset.filter(product_version__product__code=product)
    if funder:
        queryset = queryset.filter(Exists(LoanPart.objects.filter(loan=OuterRef("pk"), funder__code=funder)))
    if branch is not None:
        queryset = queryset.filter(branch=branch)
    if dpd in DPD_BUCKETS:
        queryset = queryset.filter(DPD_BUCKETS[dpd][1])
    return queryset.order_by(*LOAN_SORTS.get(sort or "-value_date", LOAN_SORTS["-value_date"])[1])


def loan_journal(*, loan: Loan) -> QuerySet:
    """The loan's journal entries with their lines and accounts, oldest first."""
    return (JournalEntry.objects.filter(loan=loan).select_related("funder")
            .prefetch_related("lines__account").order_by("business_date", "id"))


def loan_transactions(*, loan: Loan) -> list[dict]:
    """The loan's money events, oldest first (the API's and the back office's transactions): the
    disbursement, each posted repayment with its allocation (``allocation``: the repayment), a
    credit balance applied, refunds paid."""
    rows = [{"type": "disbursement", "date": loan.value_date, "amount": loan.principal,
             "reference": loan.drawdown.number, "kind": "", "source": "", "allocation": None, "order": (0, 0)}]
    for repayment in Repayment.objects.filter(loan=loan, status=RepaymentStatus.POSTED).order_by("value_date", "id"):
        rows.append({"type": "credit_applied" if repayment.source == RepaymentSource.CREDIT_BALANCE else "repayment",
                     "date": repayment.value_date, "amount": repayment.amount, "reference": repayment.reference,
                     "kind": repayment.kind, "source": repayment.source, "allocation": repayment,
                     "order": (1, repayment.pk)})
    for refund in CreditBalanceRefund.objects.filter(loan=loan, status=RefundStatus.PAID).order_by("id"):
        rows.append({"type": "refund", "date": refund.value_date, "amount": refund.amount, "reference": refund.number,
                     "kind": "", "source": "", "allocation": None, "order": (2, refund.pk)})
    return sorted(rows, key=lambda row: (row["date"], row["order"]))


def loan_repayments(*, loan: Loan) -> QuerySet:
    """Every repayment of the loan — awaiting verification, posted, rejected — newest first, with
    who entered and verified it."""
    return Repayment.objects.filter(loan=loan).select_related("entered_by", "verified_by").order_by("-created_at",
                                                                                                   "-id")


def loan_refunds(*, loan: Loan) -> QuerySet:
    """The loan's credit-balance refunds, newest first."""
    return CreditBalanceRefund.objects.filter(loan=loan).select_related("requested_by", "decided_by").order_by(
        "-created_at", "-id")


def loan_list_for(user) -> QuerySet:
    """The loans ``user`` may see (their branches and below)."""
    from creditfactory.organisations.scoping import scope_queryset

    return scope_queryset(loan_queryset(), user)


def loan_balances(*, loan: Loan, on=None) -> dict:
    """The loan's balances as the API and the back office show them, from the loan's sub-ledger
    and its (prefetched) installments — never from its history, so the cost does not grow with
    the days elapsed. ``on`` = the business date (read when not given)."""
    from creditfactory.core.money import ZERO
    from servicing.models import InstallmentStatus
    from servicing.services.calendar import business_date
    from servicing.services.repayments.quotes import owed_payable

    on = on or business_date()
    installments = list(loan.installments.all())
    overdue = [i for i in installments if i.status == InstallmentStatus.OVERDUE]
    open_loan = loan.status in ("active", "overdue")
    payable = sum((row.total for row in owed_payable(loan, installments=installments, on=on)), ZERO) if open_loan else ZERO
    return {
        "principal_outstanding": loan.principal_outstanding,
        "principal_overdue": sum((i.principal - i.principal_paid for i in overdue), ZERO),
        "interest_overdue": sum((i.interest - i.interest_paid for i in overdue), ZERO),
        "penalty_outstanding": loan.penalty_receivable,
        "fee_outstanding": loan.fee_receivable,
        "total_payable": payable,
        "credit_balance": loan.credit_balance,
    }
