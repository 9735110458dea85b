"""Scorecards (个人信用评级): points per characteristic, a base score, and a grade A–E by cut-offs.
Pure code: a published scorecard version's definition in, a score with its breakdown out.

A characteristic reads one catalogue feature and puts its value in the first bin that holds it:
numeric bins are half-open ranges ``lower <= value < upper`` (either end may be open), category
bins list the values they hold (``true``/``false`` for yes/no features). A value no bin holds
scores the characteristic's ``default_points`` and is reported as unbinned, so a gap in the bins
shows up in the explanation instead of failing the decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .catalogue import CATALOGUE

__all__ = ["GRADES", "BinSpec", "CharacteristicSpec", "ScoreResult", "ScorecardSpec", "category_key", "grade_for",
           "score_applicant"]

GRADES = ("A", "B", "C", "D", "E")


def category_key(value: Any) -> str:
    """How a value is written in a category bin: booleans as ``true``/``false``, text as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


@dataclass(frozen=True)
class BinSpec:
    label: str
    points: int
    lower: Decimal | None = None
    upper: Decimal | None = None
    categories: tuple[str, ...] = ()

    @property
    def is_category(self) -> bool:
        return bool(self.categories)

    def holds(self, value: Any) -> bool:
        if self.is_category:
            return category_key(value) in self.categories
        if value is None or isinstance(value, (bool, str)):
            return False
        number = Decimal(value)
        return (self.lower is None or number >= self.lower) and (self.upper is None or number < self.upper)

    def describe(self) -> str:
        if self.label:
            return self.label
        if self.is_category:
            return ", ".join(self.categories)
        low = "−∞" if self.lower is None else f"{self.lower.normalize():f}"
        high = "+∞" if self.upper is None else f"{self.upper.normalize():f}"
        return f"[{low}, {high})"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BinSpec:
        return cls(label=data.get("label", ""), points=int(data["points"]), lower=_decimal(data.get("lower")),
                   upper=_decimal(data.get("upper")), categories=tuple(data.get("categories") or ()))

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "points": self.points,
                "lower": None if self.lower is None else str(self.lower),
                "upper": None if self.upper is None else str(self.upper), "categories": list(self.categories)}


@dataclass(frozen=True)
class CharacteristicSpec:
    feature: str
    label: str
    bins: tuple[BinSpec, ...]
    default_points: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CharacteristicSpec:
        return cls(feature=data["feature"], label=data.get("label", ""),
                   default_points=int(data.get("default_points", 0)),
                   bins=tuple(BinSpec.from_json(item) for item in data.get("bins", ())))


@dataclass(frozen=True)
class ScorecardSpec:
    """A published scorecard version. ``cutoffs`` maps A–D to the lowest score of that grade; a
    score below D's cut-off is E. ``refer_grades``/``reject_grades`` decide the score stage."""

    version_id: int | None
    code: str
    version: int
    base_score: int
    cutoffs: Mapping[str, int]
    characteristics: tuple[CharacteristicSpec, ...]
    refer_grades: frozenset[str] = frozenset()
    reject_grades: frozenset[str] = frozenset()

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any], *, version_id: int | None, version: int) -> ScorecardSpec:
        return cls(
            version_id=version_id, code=definition["code"], version=version, base_score=int(definition["base_score"]),
            cutoffs={grade: int(points) for grade, points in definition["cutoffs"].items()},
            characteristics=tuple(CharacteristicSpec.from_json(item) for item in definition.get("characteristics", ())),
            refer_grades=frozenset(definition.get("refer_grades", ())),
            reject_grades=frozenset(definition.get("reject_grades", ())),
        )

    def outcome_for(self, grade: str) -> str:
        if grade in self.reject_grades:
            return "reject"
        if grade in self.refer_grades:
            return "refer"
        return "approve"


@dataclass(frozen=True)
class ScoreResult:
    score: int
    grade: str
    breakdown: tuple[dict[str, Any], ...]  # per characteristic: feature, label, value, bin, points, status


def grade_for(score: int, cutoffs: Mapping[str, int]) -> str:
    for grade in GRADES[:-1]:
        if score >= cutoffs[grade]:
            return grade
    return GRADES[-1]


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def score_applicant(spec: ScorecardSpec, features: Mapping[str, Any], *,
                    unavailable: Iterable[str] = ()) -> ScoreResult:
    """Score one applicant. A characteristic whose source is unavailable scores its default points
    (status ``unavailable``); the decision is referred for the missing source anyway."""
    down = frozenset(unavailable)
    total = spec.base_score
    breakdown = []
    for characteristic in spec.characteristics:
        value = features.get(characteristic.feature)
        feature = CATALOGUE.get(characteristic.feature)
        chosen = None
        if feature is not None and feature.source in down:
            status = "unavailable"
        else:
            chosen = next((item for item in characteristic.bins if item.holds(value)), None)
            status = "binned" if chosen is not None else "unbinned"
        points = chosen.points if chosen is not None else characteristic.default_points
        total += points
        breakdown.append({"feature": characteristic.feature, "label": characteristic.label,
                          "value": _json_value(value), "bin": chosen.describe() if chosen else "",
                          "points": points, "status": status})
    return ScoreResult(score=total, grade=grade_for(total, spec.cutoffs), breakdown=tuple(breakdown))
