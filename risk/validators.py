"""Validators of applicant identifiers: resident ID (GB 11643), unified social credit code
(GB 32100), mainland mobile numbers and bank account numbers.

Each ``validate_*`` is a Django validator raising ``ValidationError`` with a clear message and
a code; each ``parse_*``/``normalise_*`` returns the normalised value or the facts the number
carries (birth date, sex, province), so callers never slice the number themselves. The
``build_*`` helpers compute the check character, for test data and the sandbox documentation.
Pure functions: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditfactory.core.validators import normalise_mobile

__all__ = [
    "CreditCode",
    "PROVINCES",
    "ResidentId",
    "age_on",
    "build_credit_code",
    "build_resident_id",
    "credit_code_check_char",
    "normalise_bank_account",
    "normalise_mobile",
    "parse_credit_code",
    "parse_resident_id",
    "resident_id_check_char",
    "validate_bank_account",
    "validate_credit_code",
    "validate_mobile",
    "validate_resident_id",
]

# --- resident ID (GB 11643-1999) ---------------------------------------------------------------
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# re.ASCII: \d would also match full-width and other digits (creditfactory.core.numbers).
_ID_RE = re.compile(r"^\d{17}[\dX]$", re.ASCII)

# Province-level codes (first two digits of the GB/T 2260 region code).
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
    "71": "台湾", "81": "香港", "82": "澳门", "83": "台湾居民居住证",
}
_OLDEST_BIRTH_YEAR = 1900


@dataclass(frozen=True)
class ResidentId:
    number: str  # normalised: 18 characters, upper-case X
    region_code: str  # six digits
    province: str  # two digits
    birth_date: date
    sequence: str  # three digits; odd last digit = male
    sex: str  # "M" | "F"

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


def resident_id_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID and return what it encodes.

    Raises ``ValidationError`` (codes ``invalid_format``, ``invalid_region``,
    ``invalid_birth_date``, ``future_birth_date``, ``invalid_checksum``).
    """
    number = str(value or "").strip().replace(" ", "").upper()
    if not _ID_RE.match(number):
        raise ValidationError(
            _("A resident ID number has 17 digits followed by a digit or X."), code="invalid_format"
        )
    province = number[:2]
    if province not in PROVINCES:
        raise ValidationError(
            _("The ID number's region code %(code)s is not a province code."), code="invalid_region",
            params={"code": number[:6]},
        )
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("The ID number does not contain a real birth date."), code="invalid_birth_date") from None
    today = today or timezone.localdate()
    if birth_date > today:
        raise ValidationError(_("The birth date in the ID number is in the future."), code="future_birth_date")
    if birth_date.year < _OLDEST_BIRTH_YEAR:
        raise ValidationError(_("The ID number does not contain a real birth date."), code="invalid_birth_date")
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The ID number's check character is wrong; please check the number."), code="invalid_checksum"
        )
    sequence = number[14:17]
    return ResidentId(
        number=number,
        region_code=number[:6],
        province=province,
        birth_date=birth_date,
        sequence=sequence,
        sex="M" if int(sequence[2]) % 2 else "F",
    )


def validate_resident_id(value: str) -> None:
    parse_resident_id(value)


def build_resident_id(*, region: str = "110105", birth_date: date = date(1990, 1, 1), sequence: str = "002") -> str:
    """A valid resident ID with the given parts (the check character is computed)."""
    first17 = f"{region}{birth_date:%Y%m%d}{sequence}"
    if not re.fullmatch(r"\d{17}", first17):
        raise ValueError("region must be 6 digits and sequence 3 digits")
    return first17 + resident_id_check_char(first17)


def age_on(birth_date: date, day: date) -> int:
    """Whole years between ``birth_date`` and ``day`` (a 29 February birthday counts on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- unified social credit code (GB 32100-2015) -------------------------------------------------
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 3^(i-1) mod 31 for positions 1..17
_USCC_RE = re.compile(rf"^[{USCC_CHARSET}]{{18}}$")


@dataclass(frozen=True)
class CreditCode:
    code: str
    registration_authority: str  # position 1, e.g. "9" = industry and commerce
    organisation_type: str  # position 2, e.g. "1" = enterprise
    region_code: str  # positions 3-8


def credit_code_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(char) * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True))
    check = 31 - total % 31
    return USCC_CHARSET[0 if check == 31 else check]


def parse_credit_code(value: str) -> CreditCode:
    """Validate an 18-character unified social credit code (统一社会信用代码)."""
    code = str(value or "").strip().replace(" ", "").upper()
    if not _USCC_RE.match(code):
        raise ValidationError(
            _("A unified social credit code has 18 characters from 0-9 and A-Y without I, O, S, V and Z."),
            code="invalid_format",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The credit code's check character is wrong; please check the code."), code="invalid_checksum"
        )
    return CreditCode(code=code, registration_authority=code[0], organisation_type=code[1], region_code=code[2:8])


def validate_credit_code(value: str) -> None:
    parse_credit_code(value)


def build_credit_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


# --- mobile ------------------------------------------------------------------------------------
# normalise_mobile lives in creditfactory.core.validators (SMS recipients need it too).


def validate_mobile(value: str) -> None:
    normalise_mobile(value)


# --- bank account ------------------------------------------------------------------------------
_ACCOUNT_RE = re.compile(r"^\d{12,25}$", re.ASCII)
_SEPARATORS = re.compile(r"[\s\-()]")


def normalise_bank_account(value: str) -> str:
    """Digits only; bank card and account numbers are 12-25 digits."""
    number = _SEPARATORS.sub("", str(value or ""))
    if not _ACCOUNT_RE.match(number):
        raise ValidationError(_("A bank account number has 12 to 25 digits."), code="invalid_bank_account")
    return number


def validate_bank_account(value: str) -> None:
    normalise_bank_account(value)
