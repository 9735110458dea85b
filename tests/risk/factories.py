"""Factories for applicants, enterprises and credit applications, made through the services.

``make_applicant(sequence="123")`` gives an ordinary sandbox applicant; other sequence codes
and mobiles select the sandbox profiles documented in docs/sandbox.md.
"""

from datetime import date
from decimal import Decimal
from itertools import count

from risk.services.applicants import applicant_get_or_create, enterprise_get_or_create
from risk.validators import build_credit_code, build_resident_id
from tests.factories import make_branch, make_product
from workflows.models import CreditApplication

_numbers = count(1)


def make_applicant(*, sequence: str = "123", region: str = "110105", birth_date: date = date(1990, 5, 20),
                   mobile: str = "13812345678", monthly_income=Decimal("10000.00"), employment: str = "employed",
                   name: str = "张三", **extra):
    applicant, _created = applicant_get_or_create(
        actor=None, name=name, id_number=build_resident_id(region=region, birth_date=birth_date, sequence=sequence),
        mobile=mobile, monthly_income=monthly_income, employment=employment,
        address=extra.pop("address", "北京市朝阳区建国路 1 号"), employer_name=extra.pop("employer_name", "示例科技有限公司"),
        years_at_employer=extra.pop("years_at_employer", 4), **extra,
    )
    return applicant


def make_enterprise(*, first17: str = "91350200776049653", name: str = "厦门示例贸易有限公司", years_in_business: int = 6,
                    annual_revenue=Decimal("3200000.00"), legal_representative=None):
    enterprise, _created = enterprise_get_or_create(
        actor=None, name=name, credit_code=build_credit_code(first17), years_in_business=years_in_business,
        annual_revenue=annual_revenue, legal_representative=legal_representative,
    )
    return enterprise


def make_application(*, applicant=None, product=None, branch=None, amount=Decimal("20000.00"), term: int = 12,
                     repayment_method: str = "equal_installment", purpose: str = "education", **fields):
    if product is None:
        from products.models import LoanProduct

        product = LoanProduct.objects.filter(code="EDUCATION").first() or make_product("EDUCATION")
    if branch is None:
        from creditfactory.organisations.models import Branch

        branch = Branch.objects.filter(code="hq").first() or make_branch("hq")
    return CreditApplication.objects.create(
        number=fields.pop("number", f"CA{next(_numbers):08d}"), product_version=product.current_version, branch=branch,
        applicant=applicant or make_applicant(), amount=amount, term=term, repayment_method=repayment_method,
        purpose=purpose, **fields,
    )
