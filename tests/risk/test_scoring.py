"""Scorecards: bins, points, grades by cut-off, unavailable sources, validation and versions."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from risk.models import Characteristic, ScoreBin, Scorecard, ScorecardVersion
from risk.rules import SAMPLE_FEATURES
from risk.scoring import ScorecardSpec, grade_for, score_applicant
from risk.services.policies import scorecard_create, scorecard_publish

from .policy_factories import SCORE_CHARACTERISTICS

CUTOFFS = {"A": 680, "B": 640, "C": 600, "D": 560}
DEFINITION = {
    "code": "S", "base_score": 600, "cutoffs": CUTOFFS, "refer_grades": ["D"], "reject_grades": ["E"],
    "characteristics": [
        {"feature": "bureau.score", "label": "Bureau", "default_points": -5, "bins": [
            {"label": "", "points": -50, "lower": None, "upper": "600", "categories": []},
            {"label": "", "points": 0, "lower": "600", "upper": "700", "categories": []},
            {"label": "", "points": 60, "lower": "700", "upper": None, "categories": []}]},
        {"feature": "employment", "label": "Employment", "default_points": 0, "bins": [
            {"label": "Employed", "points": 20, "categories": ["employed"]}]},
        {"feature": "fraud.risk_list_hit", "label": "Risk list", "default_points": 0, "bins": [
            {"label": "", "points": -40, "categories": ["true"]}, {"label": "", "points": 5, "categories": ["false"]}]},
    ],
}
SPEC = ScorecardSpec.from_definition(DEFINITION, version_id=1, version=1)


def test_score_breakdown_per_characteristic():
    result = score_applicant(SPEC, SAMPLE_FEATURES)  # bureau 720, employed, not on a risk list
    assert (result.score, result.grade) == (685, "A")
    assert result.breakdown == (
        {"feature": "bureau.score", "label": "Bureau", "value": 720, "bin": "[700, +∞)", "points": 60,
         "status": "binned"},
        {"feature": "employment", "label": "Employment", "value": "employed", "bin": "Employed", "points": 20,
         "status": "binned"},
        {"feature": "fraud.risk_list_hit", "label": "Risk list", "value": False, "bin": "false", "points": 5,
         "status": "binned"},
    )


def test_bins_are_half_open_and_unbinned_values_score_the_default():
    features = {**SAMPLE_FEATURES, "bureau.score": 700, "employment": "student", "fraud.risk_list_hit": True}
    result = score_applicant(SPEC, features)
    assert [(row["bin"], row["points"], row["status"]) for row in result.breakdown] == [
        ("[700, +∞)", 60, "binned"), ("", 0, "unbinned"), ("true", -40, "binned")]
    assert (result.score, result.grade) == (620, "C")
    result = score_applicant(SPEC, {**features, "bureau.score": 699})
    assert result.breakdown[0]["points"] == 0
    assert (result.score, result.grade) == (560, "D")


def test_a_characteristic_on_an_unavailable_source_scores_its_default_points():
    result = score_applicant(SPEC, SAMPLE_FEATURES, unavailable=["bureau"])
    assert result.breakdown[0] == {"feature": "bureau.score", "label": "Bureau", "value": 720, "bin": "",
                                   "points": -5, "status": "unavailable"}
    assert result.score == 620


@given(st.integers(min_value=-1000, max_value=2000))
def test_grades_follow_the_cutoffs(score):
    expected = "A" if score >= 680 else "B" if score >= 640 else "C" if score >= 600 else "D" if score >= 560 else "E"
    assert grade_for(score, CUTOFFS) == expected


def test_grade_outcomes():
    assert [SPEC.outcome_for(g) for g in "ABCDE"] == ["approve", "approve", "approve", "refer", "reject"]


@pytest.mark.django_db
def test_cutoffs_must_fall_and_grade_lists_must_be_letters():
    scorecard = Scorecard(code="S", name="S", base_score=600, cutoff_a=600, cutoff_b=640, cutoff_c=600, cutoff_d=560,
                          refer_grades="d", reject_grades="D,X")
    with pytest.raises(ValidationError) as caught:
        scorecard.full_clean()
    assert sorted(caught.value.message_dict) == ["cutoff_d", "reject_grades"]


@pytest.mark.django_db
def test_bins_must_suit_the_feature_type():
    scorecard = Scorecard.objects.create(code="S", name="S", cutoff_a=4, cutoff_b=3, cutoff_c=2, cutoff_d=1)
    numeric = Characteristic.objects.create(scorecard=scorecard, feature="age")
    flag = Characteristic.objects.create(scorecard=scorecard, feature="fraud.id_hit")
    cases = [
        (ScoreBin(characteristic=numeric, categories="young", points=1), "categories"),
        (ScoreBin(characteristic=numeric, lower=Decimal(30), upper=Decimal(30), points=1), "upper"),
        (ScoreBin(characteristic=flag, lower=Decimal(0), points=1), "lower"),
        (ScoreBin(characteristic=flag, categories="yes", points=1), "categories"),
    ]
    for item, field in cases:
        with pytest.raises(ValidationError) as caught:
            item.full_clean()
        assert list(caught.value.message_dict) == [field]


@pytest.mark.django_db
def test_overlapping_bins_stop_publication():
    scorecard = scorecard_create(actor=None, code="S", name="S", base_score=600, cutoffs=CUTOFFS, characteristics=[
        dict(feature="age", label="Age", bins=[dict(lower=Decimal(18), upper=Decimal(40), points=5),
                                                dict(lower=Decimal(35), points=0)])])
    with pytest.raises(ValidationError) as caught:
        scorecard_publish(scorecard=scorecard, actor=None)
    assert caught.value.messages == ["Age: bins [18, 40) and [35, +∞) overlap."]
    assert ScorecardVersion.objects.count() == 0


@pytest.mark.django_db
def test_scorecard_versions_snapshot_the_bins():
    scorecard = scorecard_create(actor=None, code="S", name="S", base_score=600, cutoffs=CUTOFFS,
                                 characteristics=SCORE_CHARACTERISTICS)
    first = scorecard_publish(scorecard=scorecard, actor=None)
    assert first.definition["characteristics"][0] == {
        "feature": "bureau.score", "label": "Bureau score", "default_points": 0, "bins": [
            {"label": "< 600", "points": -50, "lower": None, "upper": "600", "categories": []},
            {"label": "600–699", "points": 0, "lower": "600", "upper": "700", "categories": []},
            {"label": "700+", "points": 60, "lower": "700", "upper": None, "categories": []}]}
    assert first.definition["characteristics"][1]["bins"][1]["categories"] == ["self_employed", "business_owner"]
    ScoreBin.objects.filter(label="700+").update(points=70)
    second = scorecard_publish(scorecard=scorecard, actor=None)
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert first.definition["characteristics"][0]["bins"][2]["points"] == 60
    assert second.definition["characteristics"][0]["bins"][2]["points"] == 70
