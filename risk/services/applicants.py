"""Writes to applicants and enterprises.

A person is identified by the blind index of the resident ID: a second application by the
same person finds the existing ``Applicant`` and updates the declared data, so duplicates and
the data-source cache work per person. Enterprises are identified by their credit code.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from creditfactory.core.display import choice_labels
from creditfactory.core.money import MoneyError, quantize_fen, to_decimal
from creditfactory.core.numbers import NumberError, parse_int
from creditfactory.core.pii import blind_index
from creditfactory.core.validators import text_problem
from risk.locks import applicant_lock, applicant_lock_existing, enterprise_lock, enterprise_lock_existing
from risk.models import Applicant, Employment, Enterprise
from risk.validators import normalise_bank_account, normalise_mobile, parse_credit_code, parse_resident_id

__all__ = ["applicant_get_or_create", "enterprise_get_or_create"]

logger = logging.getLogger(__name__)


def _money(value, field: str, errors: dict) -> Decimal | None:
    try:
        amount = quantize_fen(to_decimal(value))
    except MoneyError:
        errors.setdefault(field, []).append(_("Enter an amount in CNY, e.g. 8000.00."))
        return None
    if amount < 0:
        errors.setdefault(field, []).append(_("The amount cannot be negative."))
        return None
    return amount


def _messages(exc: ValidationError) -> list[str]:
    return [str(message) for message in exc.messages]


def _text(value, field: str, errors: dict) -> None:
    """Names and addresses are one line without control characters (core.validators)."""
    problem = text_problem(value, multiline=False) if isinstance(value, str) else None
    if problem:
        errors.setdefault(field, []).append(problem)


def _years(value, field: str, maximum: int, message: str, errors: dict) -> int | None:
    """A whole number of years in ASCII digits (core.numbers), 0 to ``maximum``."""
    try:
        years = parse_int(value)
    except NumberError:
        years = None
    if years is None or not 0 <= years <= maximum:
        errors.setdefault(field, []).append(message)
        return None
    return years


def applicant_get_or_create(
    *,
    actor,
    name: str,
    id_number: str,
    mobile: str,
    monthly_income,
    employment: str,
    address: str = "",
    employer_name: str | None = None,
    years_at_employer: int | None = None,
    bank_account: str | None = None,
) -> tuple[Applicant, bool]:
    """The applicant with this ID number, created or updated with the declared data.

    Optional fields left as ``None`` keep their stored value. Raises ``ValidationError`` with
    ``{field: [messages]}`` for bad input; nothing is written then.
    """
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Enter the applicant's name.")]
    for field, value in (("name", name), ("address", address), ("employer_name", employer_name)):
        _text(value, field, errors)
    parsed = None
    try:
        parsed = parse_resident_id(id_number)
    except ValidationError as exc:
        errors["id_number"] = _messages(exc)
    try:
        mobile = normalise_mobile(mobile)
    except ValidationError as exc:
        errors["mobile"] = _messages(exc)
    if bank_account:
        try:
            bank_account = normalise_bank_account(bank_account)
        except ValidationError as exc:
            errors["bank_account"] = _messages(exc)
    income = _money(monthly_income, "monthly_income", errors)
    if employment not in Employment.values:
        errors["employment"] = [_("Choose one of: %(choices)s.") % {"choices": choice_labels(Employment)}]
    if years_at_employer is not None:
        years_at_employer = _years(years_at_employer, "years_at_employer", 80,
                                   _("Enter a number of years from 0 to 80."), errors)
    if errors:
        raise ValidationError(errors)

    values = {
        "name": name,
        "id_number": parsed.number,
        "mobile": mobile,
        "monthly_income": income,
        "employment": employment,
        "address": (address or "").strip(),
        "birth_date": parsed.birth_date,
        "sex": parsed.sex,
        "province": parsed.province,
    }
    if employer_name is not None:
        values["employer_name"] = employer_name.strip()
    if years_at_employer is not None:
        values["years_at_employer"] = years_at_employer
    if bank_account is not None:
        values["bank_account"] = bank_account or ""

    index = blind_index("id_number", parsed.number)
    # Everything is checked above, before anything is written: the writes join the caller's
    # transaction (the outermost one when there is none) without a savepoint of their own.
    with transaction.atomic(savepoint=False):
        applicant = applicant_lock(index)  # the blind index is unique
        if applicant is None:
            try:
                with transaction.atomic():  # savepoint: a concurrent request may create the same person
                    applicant = Applicant(**values)
                    applicant.save()
                logger.info("applicant %s created by %s", applicant.pk, getattr(actor, "pk", actor))
                return applicant, True
            except IntegrityError:
                applicant = applicant_lock_existing(index)

        changed = [field for field, value in values.items() if getattr(applicant, field) != value]
        if changed:
            for field in changed:
                setattr(applicant, field, values[field])
            applicant.save(update_fields=[*changed, "updated_at"])
            logger.info("applicant %s updated (%s) by %s", applicant.pk, ", ".join(changed),
                        getattr(actor, "pk", actor))
        return applicant, False


def enterprise_get_or_create(
    *,
    actor,
    name: str,
    credit_code: str,
    years_in_business: int = 0,
    annual_revenue=Decimal("0.00"),
    legal_representative: Applicant | None = None,
) -> tuple[Enterprise, bool]:
    """The enterprise with this unified social credit code, created or updated."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Enter the enterprise's name.")]
    _text(name, "name", errors)
    try:
        credit_code = parse_credit_code(credit_code).code
    except ValidationError as exc:
        errors["credit_code"] = _messages(exc)
    revenue = _money(annual_revenue, "annual_revenue", errors)
    years_in_business = _years(years_in_business, "years_in_business", 200,
                               _("Enter a number of years from 0 to 200."), errors)
    if errors:
        raise ValidationError(errors)

    values = {"name": name, "years_in_business": years_in_business, "annual_revenue": revenue}
    if legal_representative is not None:
        values["legal_representative"] = legal_representative
    with transaction.atomic(savepoint=False):  # checked above: no savepoint needed (see the applicant's)
        enterprise = enterprise_lock(credit_code)
        if enterprise is None:
            try:
                with transaction.atomic():
                    return Enterprise.objects.create(credit_code=credit_code, **values), True
            except IntegrityError:
                enterprise = enterprise_lock_existing(credit_code)
        changed = [field for field, value in values.items() if getattr(enterprise, field) != value]
        if changed:
            for field in changed:
                setattr(enterprise, field, values[field])
            enterprise.save(update_fields=[*changed, "updated_at"])
        return enterprise, False
