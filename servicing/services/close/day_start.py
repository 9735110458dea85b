"""The start of a business date (日初), for a range of loans, in one transaction: installments
falling due move pending → due, their fees are posted as receivable, credit balances (溢缴款) are
applied to what is payable, the scheduled debit (代扣) of what remains is asked of the payment
channel (in batches of loans, one task each, sent on commit), reminders are queued (3 days
before and on the due date), loans past their version's write-off DPD get a write-off request
for a person to approve, the post-loan monitoring rules raise warnings (``monitoring``), and the
collections hand-over hooks run (``CLOSE_HANDOVER_HOOKS``).

Every phase is idempotent: a status moves once, a fee's entry reference is unique, a reminder
has a de-duplication key, one pending write-off request per loan (a rejected one is proposed
again only after the version's ``write_off_repropose_days``), one open post-loan warning per loan; so a re-run writes
nothing."""

from __future__ import annotations

import datetime
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import DateField, Exists, ExpressionWrapper, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from creditfactory.core.messaging.services import OutboxText, sms_send_many
from creditfactory.core.tasks import enqueue_batches_on_commit
from creditfactory.core.messaging.templates import SmsTemplate, register_template
from servicing.models import (
    AccountKind, EntryKind, Installment, InstallmentStatus, Loan, LoanPart, LoanStatus, WriteOffRequest,
    WriteOffStatus,
)
from servicing.services.ledger import Posting, funder_chart, ledger_post, split_by_share

from .fastpath import chunk_session_sql, fees_falling_due_sql, installments_due_sql
from .monitoring import post_loan_monitoring

__all__ = ["REMINDER_DAYS", "start_of_day_chunk"]

log = logging.getLogger("servicing.close")
OPEN = [LoanStatus.ACTIVE, LoanStatus.OVERDUE]
REMINDER_DAYS = (3, 0)  # days before the due date a reminder goes out

register_template(SmsTemplate(
    code="repayment_reminder",
    texts={
        "zh-hans": "您的贷款{loan}第{installment}期应还{amount}元，还款日{due_date}，请按时还款。",
        "en": "Loan {loan}, installment {installment}: {amount} yuan due on {due_date}. Please pay on time.",
    },
    description="Repayment reminder, 3 days before and on the due date (the daily close).",
))


def _unpaid_due(business_date: datetime.date):
    return Installment.objects.filter(loan=OuterRef("pk"), due_date__lte=business_date).exclude(
        status=InstallmentStatus.PAID)


def _credit_balances(business_date: datetime.date, lo: int, hi: int) -> int:
    """Each loan of the range holding a credit balance with something payable today: the balance
    applied (``credit_balance_apply``: allocated like a repayment, idempotent per loan and date).
    Only on the current business date — a re-run of an earlier date applies nothing."""
    from servicing.services.calendar import business_date as current
    from servicing.services.repayments.credit import credit_balance_apply

    if business_date != current():
        return 0
    loans = (Loan.objects.filter(id__gte=lo, id__lte=hi, status__in=OPEN, credit_balance__gt=0)
             .filter(Exists(_unpaid_due(business_date)))
             .exclude(repayments__reference=f"credit-{business_date.isoformat()}").order_by("id"))
    return sum(credit_balance_apply(loan=loan, business_date=business_date) is not None for loan in loans)


def _debits(business_date: datetime.date, lo: int, hi: int) -> int:
    """The scheduled debit (代扣): each loan of the range whose earliest unpaid due date is today,
    or today is one of its version's retry days after it, and that has no debit of today yet —
    ``servicing.collection_request_batch`` tasks of ``CLOSE_DEBIT_BATCH_SIZE`` loans sent on commit
    (the channel is called outside the close's transaction; each request is idempotent per loan
    and date). Only on the current business date
    and with an active payment channel."""
    from servicing.models import CollectionDebit, PaymentChannel
    from servicing.services.calendar import business_date as current
    from servicing.tasks import collection_request_batch_task

    if business_date != current() or not PaymentChannel.objects.filter(active=True).exists():
        return 0
    # the loans of the range asked today already: one index range read, not an anti-join the
    # planner may misjudge while the night's debits are not in the table's statistics yet
    asked = set(CollectionDebit.objects.filter(loan_id__gte=lo, loan_id__lte=hi, business_date=business_date)
                .values_list("loan_id", flat=True))
    rows = (Loan.objects.filter(id__gte=lo, id__lte=hi, status__in=OPEN)
            .annotate(earliest=Subquery(_unpaid_due(business_date).order_by("due_date").values("due_date")[:1]))
            .filter(earliest__isnull=False).order_by("id")
            .values_list("id", "earliest", "product_version__collection_retry_days"))
    due = [loan_id for loan_id, earliest, retry in rows if loan_id not in asked
           and ((business_date - earliest).days == 0 or (business_date - earliest).days in (retry or []))]
    enqueue_batches_on_commit(collection_request_batch_task, due, business_date.isoformat(),
                              size=settings.CLOSE_DEBIT_BATCH_SIZE)
    return len(due)


def _fees(business_date: datetime.date, lo: int, hi: int) -> int:
    """Each installment fee falling due: fee receivable on the loan and its parts, and per funder
    the entry ``<loan>/fee/<installment>/<funder>`` (Dr fee receivable / Cr fee income)."""
    posted = 0
    for _installment_id, loan_id, number, fee in fees_falling_due_sql(business_date=business_date, lo=lo, hi=hi):
        loan = Loan.objects.select_related("product_version__product").get(pk=loan_id)
        parts = list(loan.parts.select_related("funder").order_by("-lead", "funder__code"))
        split = split_by_share(amount=fee, shares=[(part.pk, part.share_percent) for part in parts])
        for part in parts:
            if not split[part.pk]:
                continue
            chart = funder_chart(funder=part.funder)
            ledger_post(kind=EntryKind.FEE, reference=f"{loan.number}/fee/{number}/{part.funder.code}",
                        business_date=business_date, loan=loan,
                        memo=_("Fee of installment %(number)s") % {"number": number},
                        postings=[Posting(chart[AccountKind.FEE_RECEIVABLE], debit=split[part.pk]),
                                  Posting(chart[AccountKind.FEE_INCOME], credit=split[part.pk])])
            LoanPart.objects.filter(pk=part.pk).update(fee_receivable=F("fee_receivable") + split[part.pk])
        Loan.objects.filter(pk=loan_id).update(fee_receivable=F("fee_receivable") + fee)
        posted += 1
    return posted


def _reminders(business_date: datetime.date, lo: int, hi: int) -> int:
    """One text per installment 3 days before its due date and one on it: queued together
    (``sms_send_many``), those sent before skipped by their de-duplication key."""
    targets = {business_date + datetime.timedelta(days=n): n for n in REMINDER_DAYS}
    # the columns the text needs, not the rows: a borrower row decrypts every protected field
    # it holds, the reminder needs the mobile only
    rows = (Installment.objects.filter(loan_id__gte=lo, loan_id__lte=hi, loan__status__in=OPEN,
                                       due_date__in=list(targets),
                                       status__in=[InstallmentStatus.PENDING, InstallmentStatus.DUE])
            .order_by("loan_id", "number")
            .values_list("id", "number", "due_date", "principal", "principal_paid", "interest", "interest_accrued",
                         "interest_paid", "fee", "fee_paid", "loan__number", "loan__applicant__mobile"))
    texts = []
    for (pk, number, due_date, principal, principal_paid, interest, interest_accrued, interest_paid, fee, fee_paid,
         loan_number, mobile) in rows:
        owed = principal - principal_paid + max(interest, interest_accrued) - interest_paid + fee - fee_paid
        texts.append(OutboxText(
            mobile=mobile, template="repayment_reminder", related=Installment(pk=pk),
            dedupe_key=f"reminder/{loan_number}/{number}/{targets[due_date]}",
            context={"loan": loan_number, "installment": number, "amount": f"{owed:.2f}",
                     "due_date": due_date.isoformat()}))
    sent, refused = sms_send_many(texts=texts)
    for key, error in refused:  # a mobile that cannot be texted: logged, the close goes on
        log.warning("reminder %s not sent: %s", key, error)
    return sent


def _write_off_proposals(business_date: datetime.date, lo: int, hi: int) -> int:
    """A pending write-off request for each overdue loan whose DPD reached its version's
    ``write_off_dpd`` and that has none pending, and no rejection less than its version's
    ``write_off_repropose_days`` business days before ``business_date`` (empty: none ever).
    A rejection decided after ``business_date`` (a re-run of an earlier date) also holds it back,
    so a re-run never proposes what the person has rejected since."""
    pending = WriteOffRequest.objects.filter(loan=OuterRef("pk"), status=WriteOffStatus.PENDING)
    rejected = WriteOffRequest.objects.filter(loan=OuterRef("pk"), status=WriteOffStatus.REJECTED)
    # rejected on R with N days: held back while R + N > D, i.e. R > D − N
    held_back = rejected.annotate(until=ExpressionWrapper(
        Coalesce("decided_on", "proposed_on") + OuterRef("product_version__write_off_repropose_days"),
        output_field=DateField())).filter(until__gt=business_date)
    loans = (Loan.objects.filter(id__gte=lo, id__lte=hi, status=LoanStatus.OVERDUE,
                                 days_past_due__gte=F("product_version__write_off_dpd"))
             .exclude(Exists(pending))
             .exclude(Exists(rejected), product_version__write_off_repropose_days__isnull=True)
             .exclude(Exists(held_back))
             .values_list("id", "days_past_due", "principal_outstanding", "interest_receivable",
                          "penalty_receivable"))
    created = WriteOffRequest.objects.bulk_create([
        WriteOffRequest(loan_id=loan_id, proposed_on=business_date, days_past_due=dpd, principal=principal,
                        interest=interest, penalty=penalty)
        for loan_id, dpd, principal, interest, penalty in loans], ignore_conflicts=True)
    return len(created)


def _handover(business_date: datetime.date, lo: int, hi: int) -> int:
    """The collections hand-over point: each hook in ``CLOSE_HANDOVER_HOOKS`` (dotted paths) is
    called as ``hook(business_date=…, lo=…, hi=…)`` inside the chunk's transaction, after DPD and
    statuses are final for the date, and returns how many rows it wrote. None by default; the
    collections app (issue 17) registers the hook that opens and advances its cases."""
    return sum(import_string(path)(business_date=business_date, lo=lo, hi=hi) or 0
               for path in settings.CLOSE_HANDOVER_HOOKS)


PHASES = (("due", lambda d, lo, hi: installments_due_sql(business_date=d, lo=lo, hi=hi)), ("fees", _fees),
          ("credit", _credit_balances), ("debits", _debits), ("reminders", _reminders), ("write_off", _write_off_proposals),
          ("monitoring", lambda d, lo, hi: post_loan_monitoring(business_date=d, lo=lo, hi=hi)),
          ("handover", _handover))


@transaction.atomic
def start_of_day_chunk(*, business_date: datetime.date, lo: int, hi: int) -> tuple[dict, dict]:
    """Run the start of ``business_date`` for loans ``lo``…``hi``. Returns (counts, seconds) per phase."""
    counts, seconds = {}, {}
    chunk_session_sql()
    for name, phase in PHASES:
        started = time.perf_counter()
        counts[name] = phase(business_date, lo, hi)
        seconds[name] = time.perf_counter() - started
    return counts, seconds
