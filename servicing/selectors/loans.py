"""Reads of loans for the API, the back office and admin: one query for the loan, one each for its
parts and installments, however many loans a page lists."""

from django.db.models import Prefetch, QuerySet

from servicing.models import Installment, JournalEntry, Loan, LoanPart

__all__ = ["loan_balances", "loan_filter", "loan_journal", "loan_queryset"]


def loan_queryset() -> QuerySet:
    return (Loan.objects.select_related("drawdown", "credit_line", "product_version__product", "applicant",
                                        "branch")
            .prefetch_related(Prefetch("parts", LoanPart.objects.select_related("funder").order_by("-lead", "id")),
                              Prefetch("installments", Installment.objects.order_by("number"))))


def loan_filter(queryset: QuerySet, *, credit_line: int | None = None, status: str | None = None,
                product: str | None = None, funder: str | None = None, branch=None) -> QuerySet:
    if credit_line is not None:
        queryset = queryset.filter(credit_line_id=credit_line)
    if status:
        queryset = queryset.filter(status=status)
    if product:
        queryset = queryset.filter(product_version__product__code=product)
    if funder:
        queryset = queryset.filter(parts__funder__code=funder)
    if branch is not None:
        queryset = queryset.filter(branch=branch)
    return queryset.order_by("-value_date", "-id")


def loan_journal(*, loan: Loan) -> QuerySet:
    """The loan's journal entries with their lines and accounts, oldest first."""
    return (JournalEntry.objects.filter(loan=loan).select_related("funder")
            .prefetch_related("lines__account").order_by("business_date", "id"))


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
