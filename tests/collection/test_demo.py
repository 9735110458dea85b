"""The demo's collections set-up: the product plan's default strategy, published once."""

from decimal import Decimal

from django.apps import apps as django_apps

from collection import demo
from collection.models import Agency, CollectionStrategy
from creditfactory.demo import SEEDERS
from creditfactory.organisations.demo import seed_organisation
from creditfactory.organisations.models import Role
from creditfactory.organisations.roles import sync_standard_roles


def test_the_demo_strategy_is_seeded_once(db):
    sync_standard_roles(django_apps)  # seeded by a migration; a transactional test may have flushed them
    seed_organisation(log=lambda message: None)
    demo.seed(context={}, log=lambda message: None)
    demo.seed(context={}, log=lambda message: None)
    strategy = CollectionStrategy.objects.get()
    steps = [(s.bucket, s.from_dpd, s.kind, s.cadence_days, s.work_group.code if s.work_group else None,
              s.commission_percent) for s in strategy.current_version.steps.select_related("work_group")]
    assert steps == [("M1", 1, "sms", 2, None, None), ("M1", 8, "call", 1, "collections", None),
                     ("M2", 31, "agency", 1, None, Decimal("15"))]
    assert Agency.objects.get().code == "demo-agency"
    assert "collection.demo.seed" in SEEDERS


def test_collectors_and_post_loan_managers_have_their_permissions(db):
    sync_standard_roles(django_apps)
    collector = set(Role.objects.get(code="collector").group.permissions.values_list("codename", flat=True))
    lead = set(Role.objects.get(code="post_loan_manager").group.permissions.values_list("codename", flat=True))
    assert {"view_collectioncase", "view_promise"} <= collector and "work_on_cases" not in collector
    assert {"work_on_cases", "reassign_collectioncase", "approve_hardshiphold", "view_collection_figures"} <= lead
