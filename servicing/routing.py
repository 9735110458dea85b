"""Funding routing (资金路由) as pure policy: which routing rules a drawdown matches, whether a
funder can lend right now, and the explanation ("why this funder")
stored on the drawdown as codes with parameters and rendered as translated sentences.

No ORM here: ``servicing.services.funding`` reads the rules and funders into the value objects
below, asks this module, and takes quotas through ``servicing.locks``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from creditfactory.core.money import format_money

__all__ = [
    "FunderView", "RouteSample", "RuleView", "explain", "explanation_lines", "funder_unavailable",
    "rule_mismatches",
]


@dataclass(frozen=True)
class RouteSample:
    """What routing looks at in a drawdown (or in a sample typed into "test this routing")."""

    product_id: int | None
    product_code: str
    amount: Decimal
    term: int
    grade: str = ""
    region: str = ""  # province code, the first two digits of the ID's region code


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    priority: int
    fallback: bool
    product_ids: frozenset[int] = frozenset()
    product_codes: tuple[str, ...] = ()
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    term_min: int | None = None
    term_max: int | None = None
    grades: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunderView:
    id: int
    code: str
    name: str
    active: bool
    product_ids: frozenset[int] = frozenset()
    active_from: datetime.time | None = None
    active_until: datetime.time | None = None
    daily_quota: Decimal | None = None
    total_quota: Decimal | None = None
    total_used: Decimal = Decimal("0")
    day_used: Decimal = Decimal("0")
    extra: dict = field(default_factory=dict)


def explain(code: str, **params) -> dict:
    """One line of the explanation: a code and JSON-safe parameters (amounts as strings)."""
    return {"code": code, "params": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in params.items()}}


def rule_mismatches(rule: RuleView, sample: RouteSample) -> list[dict]:
    """Every filled-in condition of ``rule`` the sample does not meet (empty: it matches). A
    fallback rule matches anything."""
    if rule.fallback:
        return []
    out = []
    if rule.product_ids and sample.product_id not in rule.product_ids:
        out.append(explain("product", product=sample.product_code, allowed=", ".join(rule.product_codes)))
    if rule.amount_min is not None and sample.amount < rule.amount_min:
        out.append(explain("amount_below", amount=sample.amount, limit=rule.amount_min))
    if rule.amount_max is not None and sample.amount > rule.amount_max:
        out.append(explain("amount_above", amount=sample.amount, limit=rule.amount_max))
    if rule.term_min is not None and sample.term < rule.term_min:
        out.append(explain("term_below", term=sample.term, bound=rule.term_min))
    if rule.term_max is not None and sample.term > rule.term_max:
        out.append(explain("term_above", term=sample.term, bound=rule.term_max))
    if rule.grades and sample.grade not in rule.grades:
        out.append(explain("grade", grade=sample.grade or "-", allowed=", ".join(rule.grades)))
    if rule.regions and sample.region not in rule.regions:
        out.append(explain("region", region=sample.region or "-", allowed=", ".join(rule.regions)))
    return out


def _within_hours(funder: FunderView, at: datetime.time) -> bool:
    start, end = funder.active_from, funder.active_until
    if start is None and end is None:
        return True
    start, end = start or datetime.time.min, end or datetime.time.max
    if start <= end:
        return start <= at < end
    return at >= start or at < end  # a window across midnight, e.g. 22:00-06:00


def funder_unavailable(funder: FunderView, *, sample: RouteSample, amount: Decimal,
                       local_time: datetime.time) -> dict | None:
    """Why ``funder`` cannot lend ``amount`` of this drawdown now (None: it can, quotas as last
    read — the quota take itself is the conditional UPDATE, this only explains)."""
    if not funder.active:
        return explain("funder_inactive", funder=funder.name)
    if funder.product_ids and sample.product_id not in funder.product_ids:
        return explain("funder_product", funder=funder.name, product=sample.product_code)
    if not _within_hours(funder, local_time):
        return explain("funder_hours", funder=funder.name, start=(funder.active_from or datetime.time.min).strftime(
            "%H:%M"), end=(funder.active_until or datetime.time.max).strftime("%H:%M"), now=local_time.strftime("%H:%M"))
    if funder.daily_quota is not None and funder.day_used + amount > funder.daily_quota:
        return explain("funder_daily_quota", funder=funder.name, amount=amount,
                       remaining=max(funder.daily_quota - funder.day_used, Decimal("0")))
    if funder.total_quota is not None and funder.total_used + amount > funder.total_quota:
        return explain("funder_total_quota", funder=funder.name, amount=amount,
                       remaining=max(funder.total_quota - funder.total_used, Decimal("0")))
    return None


def _money(value) -> str:
    return format_money(Decimal(value))


def _line(item: dict) -> str:
    code, p = item["code"], item.get("params", {})
    money = {k: _money(p[k]) for k in ("amount", "limit", "remaining") if k in p}
    p = {**p, **money}
    texts = {
        "rule_matched": lambda: _("Rule “%(rule)s” matches.") % p,
        "rule_not_matching": lambda: _("Rule “%(rule)s” does not match.") % p,
        "rule_skipped_fallback": lambda: _("Fallback rule “%(rule)s” tried last.") % p,
        "product": lambda: _("product %(product)s is not among %(allowed)s") % p,
        "amount_below": lambda: _("amount %(amount)s is below %(limit)s") % p,
        "amount_above": lambda: _("amount %(amount)s is above %(limit)s") % p,
        "term_below": lambda: _("term %(term)s is shorter than %(bound)s") % p,
        "term_above": lambda: _("term %(term)s is longer than %(bound)s") % p,
        "grade": lambda: _("grade %(grade)s is not among %(allowed)s") % p,
        "region": lambda: _("region %(region)s is not among %(allowed)s") % p,
        "funder_inactive": lambda: _("%(funder)s is not active.") % p,
        "funder_product": lambda: _("%(funder)s does not lend for product %(product)s.") % p,
        "funder_hours": lambda: _("%(funder)s lends only between %(start)s and %(end)s (now %(now)s).") % p,
        "funder_daily_quota": lambda: _(
            "%(funder)s has %(remaining)s of its daily quota left, %(amount)s needed.") % p,
        "funder_total_quota": lambda: _(
            "%(funder)s has %(remaining)s of its total quota left, %(amount)s needed.") % p,
        "funder_quota_taken": lambda: _("%(funder)s's quota was taken by another drawdown meanwhile.") % p,
        "funder_chosen": lambda: _("Funded by %(funder)s: %(amount)s.") % p,
        "pair_chosen": lambda: _("Co-lent by %(pair)s.") % p,
        "pair_part": lambda: _("%(funder)s lends %(share)s%% = %(amount)s.") % p,
        "pair_inactive": lambda: _("Co-lending pair %(pair)s is not active.") % p,
        "pair_shares": lambda: _("The shares of co-lending pair %(pair)s do not add up to 100%%.") % p,
        "no_funder": lambda: _("No rule found a funder with quota: the drawdown awaits funding.") % p,
        "no_rules": lambda: _("No routing rule is configured.") % p,
        "preview": lambda: _("A test: no quota was taken.") % p,
    }
    text = texts.get(code)
    return text() if text else code


def explanation_lines(routing: dict) -> list[str]:
    """The stored explanation (``Drawdown.routing``) as translated sentences, one per rule or
    funder considered, in the order routing considered them."""
    lines = []
    for item in routing.get("considered", []):
        sentence = _line(item)
        reasons = [_line(r) for r in item.get("reasons", [])]
        if reasons:
            sentence = f"{sentence} {'; '.join(reasons)}."
        lines.append(sentence)
    return lines
