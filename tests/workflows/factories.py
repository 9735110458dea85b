"""Factories for workflows tests: credit applications (with whatever the model requires at the
time: an applicant when the field exists) and remote-signing schedules."""

import itertools
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from creditfactory.organisations import services as org_services
from products.models import LoanProduct
from tests.factories import make_branch, make_product
from workflows.models import CreditApplication, SigningSchedule, SigningWindow

SHANGHAI = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware Shanghai time."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


def make_applicant(*, mobile: str = "13800138000", name: str = "张三"):
    from risk.models import Applicant

    n = next(_numbers)
    fields = {"name": name, "mobile": mobile, "birth_date": date(1990, 1, 1), "sex": "M", "province": "11",
              "employment": "employed", "monthly_income": Decimal("12000.00"), "address": "上海市"}
    try:
        from risk.validators import build_resident_id

        fields["id_number"] = build_resident_id(birth_date=date(1990, 1, 1 + n // 1000 % 28),
                                                sequence=f"{n % 1000:03d}")
    except ImportError:  # the validators moved: any unique 18 characters do for a test
        fields["id_number"] = f"110105199001{n:05d}X"
    names = {f.name for f in Applicant._meta.get_fields()}
    return Applicant.objects.create(**{k: v for k, v in fields.items() if k in names})


def make_application(*, branch=None, product_code: str = "EDUCATION", status: str = "signing",
                     mobile: str = "13800138000", number: str | None = None, **extra) -> CreditApplication:
    branch = branch or make_branch(f"b{next(_numbers)}")
    product = LoanProduct.objects.filter(code=product_code).first() or make_product(product_code)
    fields = dict(
        number=number or f"CA{next(_numbers):08d}", product_version=product.current_version, branch=branch,
        amount=Decimal("20000.00"), term=12, term_unit="months", repayment_method="equal_installment",
        purpose="education", status=status,
    )
    if _has_field(CreditApplication, "applicant") and "applicant" not in extra:
        fields["applicant"] = make_applicant(mobile=mobile)
    fields.update(extra)
    return CreditApplication.objects.create(**fields)


def make_signing_group(*, branch, code: str = "signing", members=()):
    return org_services.work_group_create(code=code, name=f"Signing {code}", branch=branch, members=list(members))


def make_schedule(*, work_group, weekdays=(0, 1, 2, 3, 4), windows=((time(9), time(12)), (time(14), time(17, 30))),
                  slot_minutes: int = 30, capacity: int = 2, **fields) -> SigningSchedule:
    schedule = SigningSchedule.objects.create(work_group=work_group, name=f"{work_group.code} hours",
                                              weekdays=list(weekdays), slot_minutes=slot_minutes, capacity=capacity,
                                              **fields)
    SigningWindow.objects.bulk_create([SigningWindow(schedule=schedule, start=s, end=e) for s, e in windows])
    return schedule
