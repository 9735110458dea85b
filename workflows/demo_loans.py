"""Demo loans, so the in-loan pages have money in them after ``make run``: the demo applications
that wait for the contract get it recorded by the Shanghai customer manager (at the branch), and
on each granted line the manager enters a drawdown that needs no disbursement review; it goes
through the real drawdown flow — in-loan check, routing (own funds up to 50,000.00), the sandbox
bank, booking on the ledger. With Celery eager (``make run``) the loans are booked before the
command ends; with a broker, when the worker has run the flow."""

from decimal import Decimal

from django.contrib.auth import get_user_model

from servicing.models import CreditLine, CreditLineStatus, Drawdown

from .models import ApplicationStatus, ContractSigning, CreditApplication
from .services.drawdowns import drawdown_request
from .services.waits import application_record_contract_acceptance

# application reference → (drawdown amount, term, method, purpose, borrower's account)
DEMO_DRAWDOWNS = {
    "DEMO-001": ("2000.00", 1, "bullet", "emergency", "6222021234567890128"),
    "DEMO-L01": ("4000.00", 3, "bullet", "consumption", "6222021234567890136"),
    "DEMO-L02": ("3000.00", 3, "bullet", "emergency", "6222021234567890144"),
}


def seed(*, context: dict, log) -> None:
    User = get_user_model()
    officer = (context.get("users") or {}).get("manager") or User.objects.filter(username="manager").first()
    if officer is None:
        log("  demo loans skipped: run the organisation seeder first")
        return
    for reference, (amount, term, method, purpose, account) in DEMO_DRAWDOWNS.items():
        drawdown_reference = f"{reference}-DD"
        if Drawdown.objects.filter(external_reference=drawdown_reference).exists():
            continue
        application = CreditApplication.objects.filter(external_reference=reference).first()
        if application is None:
            continue
        if application.status == ApplicationStatus.CONTRACT:
            application = application_record_contract_acceptance(
                application=application, actor=officer, signing=ContractSigning.BRANCH,
                reference=f"CT-{application.number}")
            application.refresh_from_db()
        line = CreditLine.objects.filter(application=application).first()
        if line is None or line.status != CreditLineStatus.ACTIVE or line.available < Decimal(amount):
            continue
        drawdown = drawdown_request(line=line, actor=officer, data={
            "amount": Decimal(amount), "term": term, "term_unit": "months", "repayment_method": method,
            "purpose": purpose, "bank_account": account, "external_reference": drawdown_reference})
        log(f"  drawdown {drawdown.number} ({reference}, {amount}) entered")
