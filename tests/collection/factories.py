"""Factories for collections: work groups, agencies and published strategies (the demo's shape
by default: 1–7 days SMS reminders, 8–30 calls by a work group, from 31 days an agency)."""

from __future__ import annotations

from decimal import Decimal

from collection.models import Agency, Bucket, CollectionCase, CollectionStrategy, StrategyAction
from collection.services import strategy_publish
from creditfactory.organisations import services as org_services
from creditfactory.organisations.models import Branch, WorkGroup
from tests.factories import make_branch


def make_work_group(code: str = "collectors", *, members=(), lead=None, policy: str = "claim") -> WorkGroup:
    group = WorkGroup.objects.filter(code=code).first()
    if group is None:
        branch = Branch.objects.filter(code="hq").first() or make_branch("hq", name="Head office")
        group = org_services.work_group_create(code=code, name=code.title(), branch=branch, policy=policy,
                                               lead=lead)
    for member in members:
        org_services.work_group_add_member(work_group=group, user=member)
    return group


def make_agency(code: str = "AGENCY1", *, commission=Decimal("15.00"), partner=None) -> Agency:
    agency, _created = Agency.objects.get_or_create(code=code, defaults={
        "name": code.title(), "commission_percent": commission, "partner": partner})
    return agency


def ensure_defaults() -> None:
    """The buckets, thresholds and policy the migration seeds (a transactional test flushes them)."""
    from importlib import import_module

    from django.apps import apps

    from collection.models import ClassificationThreshold, CompliancePolicy

    if not (Bucket.objects.exists() and ClassificationThreshold.objects.exists()
            and CompliancePolicy.objects.exists()):
        import_module("collection.migrations.0002_coll_defaults").seed(apps, None)


def make_strategy(*, product=None, code: str = "DEFAULT", actions=None, publish: bool = True) -> CollectionStrategy:
    """``actions``: [(bucket code, from DPD, kind, {field: value})]; default the demo's ladder."""
    ensure_defaults()
    if actions is None:
        actions = [("M1", 1, "sms", {"template": "collection_reminder", "cadence_days": 2}),
                   ("M1", 8, "call", {"work_group": make_work_group(), "cadence_days": 1}),
                   ("M2", 31, "agency", {"agency": make_agency()})]
    strategy = CollectionStrategy.objects.create(code=code, name=code.title(), product=product)
    buckets = {bucket.code: bucket for bucket in Bucket.objects.all()}
    for order, (bucket, from_dpd, kind, extra) in enumerate(actions, start=1):
        StrategyAction.objects.create(strategy=strategy, bucket=buckets[bucket], from_dpd=from_dpd, order=order,
                                      kind=kind, **extra)
    if publish:
        strategy_publish(strategy=strategy, actor=None)
        strategy.refresh_from_db()
    return strategy


def make_case(loan=None, *, bucket: str = "M1", step: int = 0, opened_on=None, work_group=None, agency=None,
              collector=None, strategy=None) -> CollectionCase:
    """An open case as the close leaves it (the close itself is tested in test_close.py)."""
    from servicing.services.calendar import business_date
    from tests.servicing.repayment_factories import make_loan

    ensure_defaults()
    loan = loan or make_loan()
    version = strategy.current_version if strategy else None
    return CollectionCase.objects.create(loan=loan, bucket=bucket, step=step, opened_on=opened_on or business_date(),
                                         step_since=opened_on or business_date(), dpd_at_open=1,
                                         strategy_version=version, work_group=work_group, agency=agency,
                                         collector=collector)
