"""Buckets, strategy selection and publishing, and loan classification (五级分类) thresholds."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from collection.models import ClassificationThreshold, StrategyAction, StrategyVersion
from collection.services import (
    bucket_for, classification_for, step_for, strategy_publish, strategy_version_for,
)
from tests.collection.factories import make_agency, make_strategy, make_work_group
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("dpd, bucket", [(-3, "M0"), (0, "M0"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"),
                                         (61, "M3"), (90, "M3"), (91, "M3+"), (400, "M3+"), (-4, None)])
def test_default_buckets(dpd, bucket):
    assert bucket_for(dpd) == bucket


@pytest.mark.parametrize("dpd, expected", [(0, "normal"), (1, "special_mention"), (90, "special_mention"),
                                           (91, "substandard"), (270, "substandard"), (271, "doubtful"),
                                           (360, "doubtful"), (361, "loss"), (2000, "loss")])
def test_default_classification_thresholds(dpd, expected):
    assert classification_for(dpd) == expected


def test_classification_thresholds_are_configurable():
    ClassificationThreshold.objects.filter(classification="substandard").update(min_dpd=61)
    assert (classification_for(60), classification_for(61)) == ("special_mention", "substandard")


def test_a_product_s_own_strategy_wins_over_the_default_and_drafts_do_not_count():
    education, car = make_product("EDUCATION"), make_product("CAR")
    default = make_strategy()
    own = make_strategy(product=education, code="EDU", actions=[("M1", 1, "call", {"work_group": make_work_group()})])
    make_strategy(product=car, code="CAR", publish=False)
    assert strategy_version_for(education) == own.current_version
    assert strategy_version_for(car) == default.current_version


def test_the_step_in_force_is_the_last_action_whose_dpd_is_reached():
    version = make_strategy().current_version
    assert [(s.seq, s.bucket, s.from_dpd, s.kind) for s in version.steps.all()] == [
        (0, "M1", 1, "sms"), (1, "M1", 8, "call"), (2, "M2", 31, "agency")]
    assert [step_for(version, dpd=dpd).kind for dpd in (1, 7, 8, 30, 31, 120)] == [
        "sms", "sms", "call", "call", "agency", "agency"]
    assert step_for(version, dpd=0) is None
    agency_step = step_for(version, dpd=31)
    assert (agency_step.agency.code, agency_step.commission_percent) == ("AGENCY1", Decimal("15"))


def test_publishing_makes_a_new_version_only_when_the_strategy_changed():
    strategy = make_strategy()
    assert strategy_publish(strategy=strategy, actor=None).version == 1
    StrategyAction.objects.filter(strategy=strategy, kind="agency").update(commission_percent="12.50")
    version = strategy_publish(strategy=strategy, actor=None)
    assert version.version == 2
    assert version.steps.get(kind="agency").commission_percent == Decimal("12.5")
    assert StrategyVersion.objects.filter(strategy=strategy).count() == 2


def test_a_strategy_with_an_invalid_action_is_not_published():
    strategy = make_strategy(actions=[("M1", 40, "agency", {})], publish=False)
    with pytest.raises(ValidationError) as info:
        strategy_publish(strategy=strategy, actor=None)
    text = " ".join(info.value.messages)
    assert "The DPD is outside the bucket." in text and "Outsourcing needs its agency." in text
    assert not StrategyVersion.objects.exists()
    make_agency()
