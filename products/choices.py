"""The vocabularies of a product, as Django choices with translated labels.

Repayment method, term unit and day count are the repayment engine's vocabulary
(``products.engine``): their values are the engine's enum members, so each value is spelled
once, there, and these classes only add the labels users read. The other vocabularies belong to
products alone. No model is imported here, so validation and models can both use it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from . import engine

__all__ = ["AllocationMode", "Component", "PrepaymentRecompute", "DayCount", "ProductStatus", "ProductType", "Purpose", "RateBasis", "RepaymentMethod", "TermUnit"]


class ProductType(models.TextChoices):
    CONSUMER = "consumer", _("Consumer loan (消费贷)")
    CASH = "cash", _("Cash loan (现金贷)")
    SCENARIO_INSTALLMENT = "scenario_installment", _("Scenario installment (场景分期)")
    SMALL_BUSINESS = "small_business", _("Small-business loan (经营贷)")
    REVOLVING_LINE = "revolving_line", _("Revolving line (循环额度)")


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", pgettext_lazy("product status", "Retired")


class TermUnit(models.TextChoices):
    MONTHS = engine.TermUnit.MONTHS, _("Months")
    DAYS = engine.TermUnit.DAYS, _("Days")


class RateBasis(models.TextChoices):
    ANNUAL = "annual", _("Annual rate (年利率)")
    DAILY = "daily", _("Daily rate (日利率)")


class DayCount(models.TextChoices):
    ACT_360 = engine.DayCount.ACT_360, _("ACT/360")
    ACT_365 = engine.DayCount.ACT_365, _("ACT/365")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = engine.Method.EQUAL_INSTALLMENT, _("Equal installment (等额本息)")
    EQUAL_PRINCIPAL = engine.Method.EQUAL_PRINCIPAL, _("Equal principal (等额本金)")
    INTEREST_FIRST = engine.Method.INTEREST_FIRST, _("Interest first, principal at maturity (先息后本)")
    BULLET = engine.Method.BULLET, _("Bullet: principal and interest at maturity (一次性还本付息)")
    REVOLVING = engine.Method.REVOLVING, _("Revolving, daily interest (随借随还)")


class Purpose(models.TextChoices):
    CONSUMPTION = "consumption", _("Daily consumption")
    EMERGENCY = "emergency", _("Emergency / short-term needs")
    EDUCATION = "education", _("Education")
    RENOVATION = "renovation", _("Home renovation")
    TRAVEL = "travel", _("Travel")
    MEDICAL = "medical", _("Medical")
    DURABLE_GOODS = "durable_goods", _("Durable goods")
    WORKING_CAPITAL = "working_capital", _("Business working capital")
    EQUIPMENT = "equipment", _("Business equipment")
    INVENTORY = "inventory", _("Business inventory")


class Component(models.TextChoices):
    """The parts of what a borrower owes, in the words of the allocation order."""

    PENALTY = "penalty", _("Penalty interest (罚息)")
    FEE = "fee", _("Fee")
    INTEREST = "interest", _("Interest")
    PRINCIPAL = "principal", _("Principal")


# Fineract's "mifos standard": within each installment penalty → fee → interest → principal.
DEFAULT_ALLOCATION_ORDER = [Component.PENALTY.value, Component.FEE.value, Component.INTEREST.value,
                            Component.PRINCIPAL.value]


class AllocationMode(models.TextChoices):
    INSTALLMENT = "installment", _("Installment by installment, oldest first")
    COMPONENT = "component", _("Component by component across installments")


class PrepaymentRecompute(models.TextChoices):
    REDUCE_INSTALLMENT = "reduce_installment", _("Keep the number of installments, reduce the installment")
    REDUCE_TERM = "reduce_term", _("Keep the installment, reduce the term")
