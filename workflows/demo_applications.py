"""Demo applications, so the back office has work in it after ``make run``: a few applications
entered by the Shanghai customer manager, each with a sandbox applicant chosen for its outcome
(see docs/sandbox.md) — straight-through approvals waiting for the contract, referrals in the
review queue, rejections. They go through the real services and flow."""

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model

from creditfactory.organisations.models import Branch
from risk.validators import build_resident_id

from .models import CreditApplication
from .services.applications import application_create

CONSENTS = {"credit_report": True, "personal_information": True}

# reference → (product, amount, term, method, purpose, name, sequence, mobile, income, enterprise)
DEMO_APPLICATIONS = {
    "DEMO-001": ("EMERGENCY", "3000.00", 1, "bullet", "emergency", "王小明", "050", "13812345601", "8000.00", None),
    "DEMO-002": ("EDUCATION", "30000.00", 12, "equal_installment", "education", "李华", "123", "13912345602",
                 "12000.00", None),
    "DEMO-003": ("RENOVATION", "80000.00", 36, "equal_installment", "renovation", "赵敏", "995", "13712345603",
                 "15000.00", None),
    "DEMO-004": ("EDUCATION", "20000.00", 12, "equal_principal", "education", "钱多多", "981", "13612345604",
                 "9000.00", None),
    "DEMO-005": ("BUSINESS", "200000.00", 12, "interest_first", "working_capital", "孙老板", "034", "13512345605",
                 "40000.00", {"name": "厦门示例贸易有限公司", "credit_code": "91350200776049653A", "years_in_business": 6,
                              "annual_revenue": "3200000.00"}),
    "DEMO-006": ("EMERGENCY", "2000.00", 2, "bullet", "consumption", "周某", "955", "13312345606", "6000.00", None),
    # straight through (sequence x50: bureau score 750, no debt), drawn on by workflows.demo_loans
    "DEMO-L01": ("EMERGENCY", "5000.00", 3, "bullet", "consumption", "陈晓", "350", "13812345611", "15000.00", None),
    "DEMO-L02": ("EMERGENCY", "5000.00", 3, "bullet", "emergency", "刘洋", "250", "13812345612", "9000.00", None),
}


def seed(*, context: dict, log) -> None:
    User = get_user_model()
    officer = (context.get("users") or {}).get("manager") or User.objects.filter(username="manager").first()
    branch = Branch.objects.filter(code="shanghai").first()
    if officer is None or branch is None:
        log("  demo applications skipped: run the organisation seeder first")
        return
    for reference, (product, amount, term, method, purpose, name, sequence, mobile, income,
                    enterprise) in DEMO_APPLICATIONS.items():
        if CreditApplication.objects.filter(external_reference=reference).exists():
            continue
        application = application_create(
            product=product, amount=Decimal(amount), term=term, term_unit="months", repayment_method=method,
            purpose=purpose, branch=branch, channel="back_office", consents=CONSENTS, actor=officer,
            external_reference=reference, enterprise=enterprise,
            applicant={
                "name": name, "id_number": build_resident_id(region="310104", birth_date=date(1988, 3, 12),
                                                              sequence=sequence),
                "mobile": mobile, "monthly_income": income, "employment": "employed",
                "address": "上海市徐汇区漕溪北路 88 号", "employer_name": "上海示例有限公司", "years_at_employer": 5,
            },
        )
        log(f"  application {application.number} ({reference}, {product}) entered")
