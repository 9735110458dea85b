"""Allocation of a repayment (还款顺序): pure — no ORM, no rounding beyond the fen amounts it is
given. What each installment still owes, the product version's component order and mode in; per
installment and component what is paid, and what is left for the credit balance, out.

* mode ``installment`` (Fineract's "mifos standard"): installment by installment, oldest first,
  within each the components in ``order``;
* mode ``component``: component by component in ``order``, each across the installments oldest
  first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from creditfactory.core.money import ZERO

__all__ = ["COMPONENTS", "Allocation", "Owed", "allocate"]

COMPONENTS = ("penalty", "fee", "interest", "principal")


@dataclass(frozen=True)
class Owed:
    """What one installment still owes, by component (amounts ≥ 0, in fen). ``key`` identifies it
    (the installment's number); the list given to ``allocate`` is oldest first."""

    key: object
    penalty: Decimal = ZERO
    fee: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.penalty + self.fee + self.interest + self.principal


@dataclass
class Allocation:
    """``paid[key][component]`` for every installment paid something; ``rest`` is what was left
    over (for the credit balance)."""

    paid: dict = field(default_factory=dict)
    rest: Decimal = ZERO

    def total(self, component: str) -> Decimal:
        return sum((parts.get(component, ZERO) for parts in self.paid.values()), ZERO)

    @property
    def totals(self) -> dict[str, Decimal]:
        return {component: self.total(component) for component in COMPONENTS}


def _checked_order(order) -> list[str]:
    order = list(order or COMPONENTS)
    if sorted(order) != sorted(COMPONENTS):
        missing = [c for c in COMPONENTS if c not in order]
        raise ValueError(f"allocation order must name each of {', '.join(COMPONENTS)} once (missing {missing})")
    return order


def allocate(*, amount: Decimal, owed: list[Owed], order=None, mode: str = "installment") -> Allocation:
    """Spend ``amount`` on ``owed`` (oldest first) by ``order`` and ``mode``; see the module
    docstring. Never pays more than is owed; the rest is returned in ``Allocation.rest``."""
    if amount < 0:
        raise ValueError("a negative amount cannot be allocated")
    order = _checked_order(order)
    if mode == "installment":
        steps = [(item, component) for item in owed for component in order]
    elif mode == "component":
        steps = [(item, component) for component in order for item in owed]
    else:
        raise ValueError(f"unknown allocation mode {mode!r}")
    result, left = Allocation(), amount
    for item, component in steps:
        if left <= 0:
            break
        due = getattr(item, component)
        if due <= 0:
            continue
        pay = min(left, due)
        result.paid.setdefault(item.key, {})[component] = result.paid.get(item.key, {}).get(component, ZERO) + pay
        left -= pay
    result.rest = left
    return result
