"""Unit economics of loans (单笔信贷结构核算) and the pricing simulator — the conventions are in
docs/economics.md. Every figure is a ``Decimal`` rounded once to the fen (ROUND_HALF_UP) per
component and loan; sums of loans add those.

A loan's contribution margin = income (interest and penalty earned to the business date, fees
fallen due, prepayment fees) − cost of funds − acquisition − data − payment − risk cost −
collection cost.
``loans_economics`` reads a page of loans with a fixed number of queries, whatever its size.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch, Sum
from django.utils.translation import gettext_lazy as _

from collection.models import AgencyAssignment, Contact
from creditfactory.core.money import ZERO, money_context, quantize_fen
from risk.models import DataSourceCall, InLoanCheck, InLoanCheckKind
from servicing.models import (
    CollectionDebit,
    Disbursement,
    Installment,
    Loan,
    LoanPart,
    LoanStatus,
    Repayment,
    RepaymentStatus,
    WriteOffRequest,
    WriteOffStatus,
)
from servicing.calculator import schedule_calculate
from servicing.services.calendar import business_date

from ..models.economics import AcquisitionCost, CollectionContactCost, ExpectedLossRate

__all__ = ["COMPONENTS", "GROUPINGS", "LoanEconomics", "PricingInputs", "PricingResult", "economics_by", "loan_economics",
           "loans_economics", "pricing_simulate"]

HUNDRED = Decimal(100)

# The components in the order the pages show them, with their labels.
COMPONENTS = (
    ("interest_income", _("Interest income")),
    ("penalty_income", _("Penalty interest income")),
    ("fee_income", _("Fee income")),
    ("income", _("Income")),
    ("cost_of_funds", _("Cost of funds")),
    ("acquisition_cost", _("Acquisition cost")),
    ("data_cost", _("Data cost")),
    ("payment_cost", _("Payment cost")),
    ("risk_cost", _("Risk cost (expected loss or write-off)")),
    ("collection_cost", _("Collection cost")),
    ("margin", _("Contribution margin")),
)

GROUPINGS = {
    "product": _("Product"),
    "channel": _("Channel"),
    "funder": _("Lead funder"),
    "grade": _("Grade"),
}


@dataclass
class LoanEconomics:
    loan: Loan
    on: datetime.date
    interest_income: Decimal = ZERO
    penalty_income: Decimal = ZERO
    fee_income: Decimal = ZERO
    cost_of_funds: Decimal = ZERO
    acquisition_cost: Decimal = ZERO
    data_cost: Decimal = ZERO
    payment_cost: Decimal = ZERO
    expected_loss: Decimal = ZERO
    write_off: Decimal = ZERO
    collection_cost: Decimal = ZERO
    funding: list = field(default_factory=list)  # (funder code, share %, rate %, cost of its part)

    @property
    def income(self) -> Decimal:
        return self.interest_income + self.penalty_income + self.fee_income

    @property
    def risk_cost(self) -> Decimal:
        """The write-off when the loan was written off; nothing once paid off; else the expected loss."""
        if self.loan.status == LoanStatus.WRITTEN_OFF:
            return self.write_off
        if self.loan.status == LoanStatus.CLOSED:
            return ZERO
        return self.expected_loss

    @property
    def margin(self) -> Decimal:
        return (self.income - self.cost_of_funds - self.acquisition_cost - self.data_cost - self.payment_cost
                - self.risk_cost - self.collection_cost)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name, _label in COMPONENTS}


def _days_in_year(loan: Loan) -> int:
    return 365 if loan.day_count == "ACT/365" else 360


def _cost_of_funds(loan: Loan, installments: list[Installment], parts: list[LoanPart], on: datetime.date) -> list:
    """Per part: Σ over the installments of (its principal × the part's share of the loan) × the
    part's rate × the days that principal was out (value date → settled, or → ``on`` while
    unpaid) ÷ 360 or 365 — rounded once per part."""
    basis = _days_in_year(loan)
    principal_days = ZERO
    for i in installments:
        end = i.settled_on if i.settled_on is not None and i.settled_on <= on else on
        days = max((end - loan.value_date).days, 0)
        principal_days += i.principal * days
    rows = []
    with money_context():
        for part in parts:
            share = part.principal / loan.principal if loan.principal else ZERO
            cost = quantize_fen(principal_days * share * part.rate_percent / HUNDRED / basis)
            rows.append((part.funder.code, part.share_percent, part.rate_percent, cost))
    return rows


def _acquisition(loan: Loan, channel: str, rows: list[AcquisitionCost]) -> Decimal:
    by_partner = {row.partner_id: row for row in rows if row.partner_id}
    by_channel = {row.channel: row for row in rows if not row.partner_id}
    row = by_partner.get(loan.partner_id) or by_channel.get(channel) or by_channel.get("")
    if row is None:
        return ZERO
    with money_context():
        return quantize_fen(row.per_loan + loan.principal * row.percent_of_principal / HUNDRED)


def _collection_costs(loan_ids: list[int]) -> dict[int, Decimal]:
    """Per loan: each agency's commission on what was repaid while its case was the agency's (the
    collections app's convention: amount less what went to the credit balance, from the
    assignment's start up to the day before its end, rounded per assignment) + each recorded
    contact at its channel's cost."""
    costs: dict[int, Decimal] = defaultdict(lambda: ZERO)
    assignments = list(AgencyAssignment.objects.filter(case__loan_id__in=loan_ids).select_related("case"))
    if assignments:
        repayments = defaultdict(list)
        for loan_id, value_date, amount, credit in (Repayment.objects.filter(
                loan_id__in={a.case.loan_id for a in assignments}, status=RepaymentStatus.POSTED)
                .values_list("loan_id", "value_date", "amount", "credit_balance")):
            repayments[loan_id].append((value_date, amount - credit))
        for assignment in assignments:
            recovered = sum((amount for day, amount in repayments[assignment.case.loan_id]
                             if day >= assignment.start and (assignment.end is None or day < assignment.end)), ZERO)
            with money_context():
                costs[assignment.case.loan_id] += quantize_fen(recovered * assignment.commission_percent / HUNDRED)
    per_contact = dict(CollectionContactCost.objects.values_list("channel", "cost"))
    if per_contact:
        for loan_id, channel, count in (Contact.objects.filter(case__loan_id__in=loan_ids)
                                        .values("case__loan_id", "channel").annotate(n=Count("id"))
                                        .values_list("case__loan_id", "channel", "n")):
            costs[loan_id] += per_contact.get(channel, ZERO) * count
    return dict(costs)


def loans_economics(loans, *, on: datetime.date | None = None) -> list[LoanEconomics]:
    """The economics of each loan of ``loans`` (a queryset or list of loans) on ``on`` (default:
    the business date), in their order."""
    on = on or business_date()
    loans = list(Loan.objects.filter(pk__in=[loan.pk for loan in loans])
                 .select_related("credit_line__application", "drawdown", "product_version__product", "partner")
                 .prefetch_related(Prefetch("parts", LoanPart.objects.select_related("funder").order_by("-lead", "id")),
                                   Prefetch("installments", Installment.objects.order_by("number")))
                 .order_by("-value_date", "-id"))
    if not loans:
        return []
    ids = [loan.pk for loan in loans]
    application_ids = {loan.credit_line.application_id for loan in loans if loan.credit_line.application_id}
    line_ids = {loan.credit_line_id for loan in loans}
    numbers = {loan.drawdown.number for loan in loans}
    # data: the application's calls, the drawdown's in-loan check, the line's warning checks (shared
    # evenly by the line's loans)
    application_cost = dict(DataSourceCall.objects.filter(application_id__in=application_ids)
                            .values("application_id").annotate(total=Sum("cost"))
                            .values_list("application_id", "total"))
    drawdown_cost = dict(InLoanCheck.objects.filter(kind=InLoanCheckKind.DRAWDOWN, subject_reference__in=numbers)
                         .values("subject_reference").annotate(total=Sum("data_cost"))
                         .values_list("subject_reference", "total"))
    warning_cost = dict(InLoanCheck.objects.filter(kind=InLoanCheckKind.WARNING, credit_line_id__in=line_ids)
                        .values("credit_line_id").annotate(total=Sum("data_cost"))
                        .values_list("credit_line_id", "total"))
    loans_per_line = dict(Loan.objects.filter(credit_line_id__in=line_ids).values("credit_line_id")
                          .annotate(n=Count("id")).values_list("credit_line_id", "n"))
    # payment: the disbursement's recorded channel fee, and each scheduled debit at its channel's fee
    disbursement_cost = dict(Disbursement.objects.filter(drawdown_id__in=[loan.drawdown_id for loan in loans])
                             .values_list("drawdown_id", "cost"))
    debit_cost = defaultdict(lambda: ZERO)
    for loan_id, fee in CollectionDebit.objects.filter(loan_id__in=ids).values_list(
            "loan_id", "channel__cost_per_transaction"):
        debit_cost[loan_id] += fee
    prepayment_fees = dict(Repayment.objects.filter(loan_id__in=ids, status=RepaymentStatus.POSTED)
                           .values("loan_id").annotate(total=Sum("prepayment_fee"))
                           .values_list("loan_id", "total"))
    written_off = dict(WriteOffRequest.objects.filter(loan_id__in=ids, status=WriteOffStatus.APPROVED)
                       .values("loan_id").annotate(total=Sum("principal")).values_list("loan_id", "total"))
    collection_costs = _collection_costs(ids)
    acquisition_rows = list(AcquisitionCost.objects.all())
    loss_rates = {row.grade: row for row in ExpectedLossRate.objects.all()}

    result = []
    for loan in loans:
        installments, parts = list(loan.installments.all()), list(loan.parts.all())
        line = loan.credit_line
        channel = line.application.channel if line.application_id else ""
        economics = LoanEconomics(loan=loan, on=on)
        economics.interest_income = sum((i.interest_accrued for i in installments), ZERO)
        economics.penalty_income = sum((i.penalty_accrued for i in installments), ZERO)
        economics.fee_income = (loan.upfront_fee + sum((i.fee for i in installments if i.due_date <= on), ZERO)
                                + (prepayment_fees.get(loan.pk) or ZERO))
        economics.funding = _cost_of_funds(loan, installments, parts, on)
        economics.cost_of_funds = sum((row[3] for row in economics.funding), ZERO)
        economics.acquisition_cost = _acquisition(loan, channel, acquisition_rows)
        with money_context():
            shared = (warning_cost.get(line.pk) or ZERO) / (loans_per_line.get(line.pk) or 1)
            economics.data_cost = quantize_fen((application_cost.get(line.application_id) or ZERO)
                                               + (drawdown_cost.get(loan.drawdown.number) or ZERO) + shared)
            rate = loss_rates.get(line.grade)
            economics.expected_loss = (quantize_fen(loan.principal * rate.pd_percent * rate.lgd_percent
                                                    / HUNDRED / HUNDRED) if rate else ZERO)
        economics.payment_cost = (disbursement_cost.get(loan.drawdown_id) or ZERO) + debit_cost[loan.pk]
        economics.write_off = written_off.get(loan.pk) or ZERO
        economics.collection_cost = collection_costs.get(loan.pk, ZERO)
        result.append(economics)
    return result


def loan_economics(loan: Loan, *, on: datetime.date | None = None) -> LoanEconomics:
    [economics] = loans_economics([loan], on=on)
    return economics


def _group_key(economics: LoanEconomics, grouping: str) -> str:
    loan = economics.loan
    if grouping == "product":
        return loan.product_version.product.name
    if grouping == "channel":
        if loan.partner_id:
            return str(loan.partner)
        line = loan.credit_line
        return str(line.application.get_channel_display()) if line.application_id else "—"
    if grouping == "funder":
        lead = next(iter(loan.parts.all()), None)
        return lead.funder.name if lead else "—"
    return loan.credit_line.grade or "—"


def economics_by(rows: list[LoanEconomics], *, grouping: str) -> list[dict]:
    """Sums of ``rows`` per product, channel (the partner for a partner's loan), lead funder or
    grade: ``[{"group", "loans", "principal", <component>: total, "margin_percent"}]`` by group."""
    groups: dict[str, dict] = {}
    for economics in rows:
        key = _group_key(economics, grouping)
        group = groups.setdefault(key, {"group": key, "loans": 0, "principal": ZERO,
                                        **{name: ZERO for name, _label in COMPONENTS}})
        group["loans"] += 1
        group["principal"] += economics.loan.principal
        for name, value in economics.as_dict().items():
            group[name] += value
    for group in groups.values():
        with money_context():
            group["margin_percent"] = ((group["margin"] * HUNDRED / group["principal"]).quantize(Decimal("0.01"))
                                       if group["principal"] else None)
    return sorted(groups.values(), key=lambda group: group["group"])


# --- the pricing simulator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PricingInputs:
    """One loan as the simulator prices it: repaid on schedule, the grade mix's expected loss."""

    product_version: object
    amount: Decimal
    term: int
    method: str
    grade_mix: dict  # grade → share in percent, summing to 100
    cost_of_funds_percent: Decimal
    acquisition_cost: Decimal
    data_cost: Decimal
    payment_cost: Decimal  # per payment transaction: the disbursement and each installment's debit
    rate_percent: Decimal  # the annual rate to price at
    start: datetime.date


@dataclass(frozen=True)
class PricingResult:
    rate_percent: Decimal
    interest: Decimal
    fees: Decimal
    cost_of_funds: Decimal
    acquisition_cost: Decimal
    data_cost: Decimal
    payment_cost: Decimal
    expected_loss: Decimal
    margin: Decimal
    apr_percent: Decimal
    break_even_rate_percent: Decimal | None  # None: no rate up to the APR cap breaks even
    break_even_apr_percent: Decimal | None
    apr_cap_percent: Decimal | None
    within_cap: bool


def _schedule(inputs: PricingInputs, rate: Decimal):
    version = inputs.product_version
    return schedule_calculate(principal=inputs.amount, rate_percent=rate, rate_basis="annual", term=inputs.term,
                              term_unit=version.term_unit, method=inputs.method, start_date=inputs.start,
                              upfront_fee_percent=version.upfront_fee_percent,
                              interest_every_months=version.interest_every_months, day_count=version.day_count)


def _priced(inputs: PricingInputs, rate: Decimal, expected_loss: Decimal) -> tuple[Decimal, dict]:
    quote = _schedule(inputs, rate)
    schedule = quote.schedule
    basis = 365 if inputs.product_version.day_count == "ACT/365" else 360
    with money_context():
        principal_days = sum((row.principal * (row.due_date - inputs.start).days for row in schedule.installments),
                             ZERO)
        figures = {
            "interest": schedule.total_interest,
            "fees": schedule.upfront_fee + schedule.total_fee,
            "cost_of_funds": quantize_fen(principal_days * inputs.cost_of_funds_percent / HUNDRED / basis),
            "acquisition_cost": quantize_fen(inputs.acquisition_cost),
            "data_cost": quantize_fen(inputs.data_cost),
            "payment_cost": quantize_fen(inputs.payment_cost * (1 + len(schedule.installments))),
            "expected_loss": expected_loss,
            "apr_percent": quote.apr.nominal_percent,
        }
    margin = (figures["interest"] + figures["fees"] - figures["cost_of_funds"] - figures["acquisition_cost"]
              - figures["data_cost"] - figures["payment_cost"] - expected_loss)
    return margin, figures


def pricing_simulate(inputs: PricingInputs) -> PricingResult:
    """The margin of ``inputs`` at its rate, and the break-even rate: the lowest annual rate (to
    0.01 %) whose margin is not negative, searched up to the product's APR cap (or 100 %), and
    whether the chosen rate's APR is within the cap. Raises ``CalculatorError`` for terms the
    repayment engine refuses and ``ValueError`` for a grade without an expected-loss rate."""
    rates = {row.grade: row for row in ExpectedLossRate.objects.filter(grade__in=list(inputs.grade_mix))}
    missing = sorted(set(inputs.grade_mix) - set(rates))
    if missing:
        raise ValueError(", ".join(missing))
    with money_context():
        expected_loss = quantize_fen(sum((inputs.amount * share / HUNDRED * rates[grade].pd_percent / HUNDRED
                                          * rates[grade].lgd_percent / HUNDRED
                                          for grade, share in inputs.grade_mix.items()), ZERO))
    margin, figures = _priced(inputs, inputs.rate_percent, expected_loss)
    cap = inputs.product_version.apr_cap_percent
    # Bisection in hundredths of a percent: the margin grows with the rate.
    low, high = 0, int((cap if cap else HUNDRED) * 100)
    break_even = break_even_apr = None
    if _priced(inputs, Decimal(high) / 100, expected_loss)[0] >= 0:
        while low < high:
            middle = (low + high) // 2
            if _priced(inputs, Decimal(middle) / 100, expected_loss)[0] >= 0:
                high = middle
            else:
                low = middle + 1
        break_even = (Decimal(high) / 100).quantize(Decimal("0.01"))
        break_even_apr = _priced(inputs, break_even, expected_loss)[1]["apr_percent"]
    return PricingResult(rate_percent=inputs.rate_percent, margin=margin,
                         break_even_rate_percent=break_even, break_even_apr_percent=break_even_apr,
                         apr_cap_percent=cap, within_cap=cap is None or figures["apr_percent"] <= cap, **figures)
