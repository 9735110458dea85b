"""Funding routing (资金路由): choose the funder or co-lending pair of a drawdown, take their quotas,
release them when the drawdown fails and post them when it is disbursed.

``funding_route`` tries the active routing rules by priority, fallback rules last (funder
priority breaks ties). The first matching rule whose funder — or every funder of whose pair —
is active, lends for the product, is within its active hours (Asia/Shanghai) and has daily and
total quota left funds the drawdown: the quotas are taken with conditional UPDATEs
(``servicing.locks.funder_quota_take``) and one ``DrawdownFunding`` row per funder records its
share, principal and hold. Every rule and funder considered, and why, is stored on
``Drawdown.routing`` as codes with parameters (``servicing.routing.explanation_lines`` renders
them). Nothing found → ``funded=False``: the flow parks the drawdown in ``awaiting_funding``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from creditfactory.core.models import StateTransition
from creditfactory.core.state import StateMachine, change_state_where, record_transition
from servicing import routing as policy
from servicing.fastpath import DRAWDOWNS, drawdown_funding, fused, insert_logged, routing_state, routing_state_of_business_date
from servicing.locks import funder_quota_release, funder_quota_take
from servicing.models import (
    CoLendingPair, DrawdownFunding, Funder, FundingHoldStatus, RoutingRule,
)

from .calendar import business_date
from .ledger import split_by_share as ledger_split_by_share

__all__ = [
    "FUNDING_HOLD_MACHINE", "RoutingOutcome", "funding_post", "funding_preview", "funding_release", "funding_route",
    "route_sample_of", "split_by_share",
]

_H = FundingHoldStatus
FUNDING_HOLD_MACHINE = StateMachine({_H.HELD: frozenset({_H.POSTED, _H.RELEASED})})

# The ledger's split (fen rounding, the lead takes the rest), re-exported for the contract's callers.
split_by_share = ledger_split_by_share


@dataclass
class RoutingOutcome:
    funded: bool
    funder: Funder | None = None
    pair: CoLendingPair | None = None
    rule: RoutingRule | None = None
    considered: list[dict] = field(default_factory=list)
    parts: list[dict] = field(default_factory=list)  # {"funder", "share_percent", "principal", "rate_percent", "lead"}

    def as_json(self, *, day: datetime.date, at: datetime.datetime, preview: bool = False) -> dict:
        return {
            "funded": self.funded, "business_date": day.isoformat(), "at": at.isoformat(), "preview": preview,
            "rule": {"id": self.rule.pk, "name": self.rule.name} if self.rule else None,
            "funder": self.funder.code if self.funder else None, "pair": self.pair.code if self.pair else None,
            "considered": self.considered,
        }


def route_sample_of(drawdown, *, province: str | None = None) -> policy.RouteSample:
    """``province``: the borrower's, when the caller has read it (else read from the applicant)."""
    version = drawdown.product_version
    return policy.RouteSample(
        product_id=version.product_id, product_code=version.product.code, amount=drawdown.amount,
        term=drawdown.term, grade=drawdown.credit_line.grade,
        region=drawdown.applicant.province if province is None else province)


# The routing configuration read last, by its fingerprint (``servicing.fastpath.routing_state``):
# rules, pairs, shares and funders change rarely and are read on every drawdown.
_RULES_CACHE: dict[str, list[RoutingRule]] = {}


def _rules(fingerprint: str | None = None) -> list[RoutingRule]:
    """The active rules by priority with their funders, pairs, shares and products — the list
    read last while the configuration's ``fingerprint`` is unchanged (the funders' volatile
    ``total_used`` is not part of it: routing reads it afresh)."""
    if fingerprint is not None and fingerprint in _RULES_CACHE:
        return _RULES_CACHE[fingerprint]
    rules = _rules_read()
    if fingerprint is not None:
        _RULES_CACHE.clear()
        _RULES_CACHE[fingerprint] = rules
    return rules


def _rules_read() -> list[RoutingRule]:
    rules = list(RoutingRule.objects.filter(active=True).select_related("funder", "pair")
                 .prefetch_related("products", "pair__shares__funder__products", "funder__products"))

    def funder_priority(rule):
        if rule.funder_id:
            return rule.funder.priority
        return min((s.funder.priority for s in rule.pair.shares.all()), default=0)

    return sorted(rules, key=lambda r: (r.fallback, r.priority, funder_priority(r), r.pk))


def _rule_view(rule: RoutingRule) -> policy.RuleView:
    products = list(rule.products.all())
    return policy.RuleView(
        id=rule.pk, name=rule.name, priority=rule.priority, fallback=rule.fallback,
        product_ids=frozenset(p.pk for p in products), product_codes=tuple(sorted(p.code for p in products)),
        amount_min=rule.amount_min, amount_max=rule.amount_max, term_min=rule.term_min, term_max=rule.term_max,
        grades=tuple(rule.grades or ()), regions=tuple(str(r) for r in rule.regions or ()))


def _funder_view(funder: Funder, day_used: dict, total_used: dict) -> policy.FunderView:
    return policy.FunderView(
        id=funder.pk, code=funder.code, name=funder.name, active=funder.active,
        product_ids=frozenset(p.pk for p in funder.products.all()), active_from=funder.active_from,
        active_until=funder.active_until, daily_quota=funder.daily_quota, total_quota=funder.total_quota,
        total_used=total_used.get(funder.pk, funder.total_used), day_used=day_used.get(funder.pk, Decimal("0")))


def _targets(rule: RoutingRule) -> list[tuple[Funder, Decimal, Decimal]]:
    """(funder, share %, rate %) of a rule's target, the largest share first."""
    if rule.funder_id:
        return [(rule.funder, Decimal("100"), rule.funder.cost_of_funds_percent)]
    shares = sorted(rule.pair.shares.all(), key=lambda s: (-s.share_percent, s.funder.code))
    return [(s.funder, s.share_percent, s.rate_percent if s.rate_percent is not None else s.funder.cost_of_funds_percent)
            for s in shares]


def _take_all(targets, amounts, *, take, give_back):
    """Take every funder's quota of a target (in funder id order, the lock order), or none: a
    funder refused → what the others took is given back at once (no savepoint: each take is one
    conditional statement and each give-back its exact inverse, under the same row locks).
    Returns the funder that refused, or None."""
    taken = []
    for funder, _pct, _rate in sorted(targets, key=lambda t: t[0].pk):
        if not take(funder, amounts[funder.pk]):
            for done in reversed(taken):
                give_back(done, amounts[done.pk])
            return funder
        taken.append(funder)
    return None


def _route(*, sample: policy.RouteSample, day: datetime.date, local_time: datetime.time, take,
           give_back=None, state=None) -> RoutingOutcome:
    """``state``: ``routing_state(day=day)`` when the caller has read it."""
    fingerprint, total_used, day_used = state if state is not None else routing_state(day=day)
    rules = _rules(fingerprint)
    considered: list[dict] = []
    if not rules:
        considered.append(policy.explain("no_rules"))
    for rule in rules:
        mismatches = policy.rule_mismatches(_rule_view(rule), sample)
        if mismatches:
            considered.append({**policy.explain("rule_not_matching", rule=rule.name), "reasons": mismatches})
            continue
        considered.append(policy.explain("rule_matched", rule=rule.name))
        if rule.pair_id and not rule.pair.active:
            considered.append(policy.explain("pair_inactive", pair=rule.pair.name))
            continue
        targets = _targets(rule)
        if not targets:
            continue
        if sum(pct for _f, pct, _r in targets) != 100:
            considered.append(policy.explain("pair_shares", pair=rule.pair.name))
            continue
        amounts = ledger_split_by_share(amount=sample.amount, shares=[(f.pk, pct) for f, pct, _r in targets])
        blocked = [reason for funder, _pct, _rate in targets if (reason := policy.funder_unavailable(
            _funder_view(funder, day_used, total_used), sample=sample, amount=amounts[funder.pk], local_time=local_time))]
        if blocked:
            considered.extend(blocked)
            continue
        refused = _take_all(targets, amounts, take=take, give_back=give_back)
        if refused is not None:
            considered.append(policy.explain("funder_quota_taken", funder=refused.name))
            continue
        lead_id = targets[0][0].pk
        parts = [{"funder": f, "share_percent": pct, "principal": amounts[f.pk], "rate_percent": rate,
                  "lead": f.pk == lead_id} for f, pct, rate in targets]
        if rule.pair_id:
            considered.append(policy.explain("pair_chosen", pair=rule.pair.name))
            considered.extend(policy.explain("pair_part", funder=p["funder"].name, share=format(
                                             p["share_percent"].normalize(), "f"), amount=p["principal"]) for p in parts)
        else:
            considered.append(policy.explain("funder_chosen", funder=rule.funder.name, amount=sample.amount))
        return RoutingOutcome(funded=True, funder=targets[0][0], pair=rule.pair if rule.pair_id else None,
                              rule=rule, considered=considered, parts=parts)
    considered.append(policy.explain("no_funder"))
    return RoutingOutcome(funded=False, considered=considered)


def _local_time(now: datetime.datetime | None) -> datetime.time:
    return timezone.localtime(now or timezone.now()).time()


def _outcome_of_existing(drawdown, rows: list[DrawdownFunding]) -> RoutingOutcome:
    lead = next((r for r in rows if r.lead), rows[0])
    routing = drawdown.routing or {}
    return RoutingOutcome(
        funded=True, funder=lead.funder, pair=CoLendingPair.objects.filter(code=routing.get("pair")).first()
        if routing.get("pair") else None, rule=None, considered=routing.get("considered", []),
        parts=[{"funder": r.funder, "share_percent": r.share_percent, "principal": r.principal,
                "rate_percent": r.rate_percent, "lead": r.lead} for r in rows])


def _give_back(*, funder_id: int, day, amount) -> None:
    if not funder_quota_release(funder_id=funder_id, day=day, amount=amount):
        raise RuntimeError(f"funder {funder_id} quota for {day} holds less than {amount}")


# The caller's transaction when there is one, with no savepoint of its own: every write here is a
# conditional statement, refusals change nothing, and an error rolls the caller back.
@transaction.atomic(savepoint=False)
def funding_route(*, drawdown, now: datetime.datetime | None = None) -> RoutingOutcome:
    """Route ``drawdown`` to a funder or a co-lending pair, taking their quotas. Idempotent: a
    drawdown that already holds (or posted) its funding gets that funding back, nothing is
    taken twice. Writes ``drawdown.routing`` (the explanation) and, when funded, one held
    ``DrawdownFunding`` per funder. Does not move the drawdown's status (the flow does)."""
    # the business date, the borrower's province, the routing state and whether the drawdown has
    # funding rows: one statement (PostgreSQL; the drawdown is locked by the caller's round)
    read = routing_state_of_business_date(applicant_id=drawdown.applicant_id, drawdown_id=drawdown.pk)
    if read is None or read[3]:
        rows = drawdown_funding(drawdown.pk)
        live = [row for row in rows if row.hold_status != _H.RELEASED]
        if live:
            return _outcome_of_existing(drawdown, live)
        if rows:
            drawdown.funding.filter(hold_status=_H.RELEASED).delete()  # an earlier, released routing
    if read is None:
        day, province, state = business_date(), None, None
    else:
        day, province, state, _funded_before = read
    outcome = _route(sample=route_sample_of(drawdown, province=province), day=day, local_time=_local_time(now),
                     take=lambda funder, amount: funder_quota_take(funder_id=funder.pk, day=day, amount=amount),
                     give_back=lambda funder, amount: _give_back(funder_id=funder.pk, day=day, amount=amount),
                     state=state)
    for part in outcome.parts:
        row = DrawdownFunding(
            drawdown=drawdown, funder=part["funder"], share_percent=part["share_percent"],
            principal=part["principal"], rate_percent=part["rate_percent"], lead=part["lead"], business_date=day)
        if fused():  # the row and its log entry in one statement
            insert_logged(row, log=StateTransition(
                content_type=ContentType.objects.get_for_model(DrawdownFunding, for_concrete_model=True),
                field="hold_status", from_state="", to_state=_H.HELD, actor=None, actor_label="routing", reason=""))
            continue
        row.save(force_insert=True)
        record_transition(row, from_state="", to_state=_H.HELD, actor_label="routing", field="hold_status")
    drawdown.routing = outcome.as_json(day=day, at=now or timezone.now())
    DRAWDOWNS.update(drawdown, fields=["routing", "updated_at"])  # save(update_fields=…), one prebuilt statement
    return outcome


def funding_preview(*, sample: policy.RouteSample, now: datetime.datetime | None = None) -> RoutingOutcome:
    """"Test this routing": what ``funding_route`` would choose for ``sample`` now, and why,
    from the quotas as they stand — taking no quota and writing nothing."""
    outcome = _route(sample=sample, day=business_date(), local_time=_local_time(now), take=lambda funder, amount: True)
    outcome.considered.append(policy.explain("preview"))
    return outcome


def _move_holds(*, drawdown, to_state: str, reason: str, rows=None) -> list[DrawdownFunding]:
    moved = []
    if rows is None:
        rows = drawdown.funding.filter(hold_status=_H.HELD).order_by("funder_id")
    for row in rows:
        if change_state_where(DrawdownFunding, row.pk, from_state=_H.HELD, to_state=to_state,
                              machine=FUNDING_HOLD_MACHINE, actor_label="system", reason=reason,
                              field="hold_status"):
            row.hold_status = to_state
            moved.append(row)
    return moved


@transaction.atomic
def funding_release(*, drawdown, reason: str = "") -> list[DrawdownFunding]:
    """Give the funders back the quota this drawdown holds (it was rejected, cancelled or failed).
    Idempotent: only held parts move to released, each exactly once."""
    released = _move_holds(drawdown=drawdown, to_state=_H.RELEASED, reason=reason)
    for row in released:
        if not funder_quota_release(funder_id=row.funder_id, day=row.business_date, amount=row.principal):
            raise RuntimeError(f"funder {row.funder_id} quota for {row.business_date} holds less than {row.principal}")
    return released


@transaction.atomic(savepoint=False)
def funding_post(*, drawdown, reason: str = "", funding=None) -> list[DrawdownFunding]:
    """The disbursement is confirmed: the held parts become posted (their quota stays used).
    Idempotent: returns the parts this call posted. ``funding``: every funding part of the
    drawdown, when the caller has just read them (the booking reads them once for both)."""
    rows = None
    if funding is not None:
        rows = sorted((row for row in funding if row.hold_status == _H.HELD), key=lambda row: row.funder_id)
    return _move_holds(drawdown=drawdown, to_state=_H.POSTED, reason=reason, rows=rows)
