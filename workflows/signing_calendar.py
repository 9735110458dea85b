"""Slot arithmetic of remote signing: which slots a schedule offers on which days. Pure code, no
ORM: ``SlotRule`` is built from a schedule, its windows and its holidays by the selectors.

A day is a working day when it is a make-up working day (调休), or when it is one of the
schedule's weekdays and not a holiday. On a working day every window [start, end) yields slots
starting at ``start`` every ``slot_minutes`` as long as the slot ends by ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Slot", "SlotRule", "day_status", "slots_between", "slots_on"]


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SlotRule:
    weekdays: frozenset[int]
    windows: tuple[tuple[time, time], ...]
    slot_minutes: int
    tz: ZoneInfo
    closed: dict[date, str] = field(default_factory=dict)  # date → holiday name
    workdays: dict[date, str] = field(default_factory=dict)  # make-up working days


def day_status(rule: SlotRule, day: date) -> str:
    """``open``, ``holiday`` or ``closed`` (not a working weekday)."""
    if day in rule.workdays:
        return "open"
    if day in rule.closed:
        return "holiday"
    return "open" if day.weekday() in rule.weekdays else "closed"


def slots_on(rule: SlotRule, day: date) -> list[Slot]:
    if day_status(rule, day) != "open":
        return []
    length = timedelta(minutes=rule.slot_minutes)
    slots = []
    for window_start, window_end in sorted(rule.windows):
        # Wall-clock arithmetic in the schedule's zone, then attached: Asia/Shanghai has no DST,
        # and for zones that do, a slot keeps its printed local time.
        start = datetime.combine(day, window_start)
        end_of_window = datetime.combine(day, window_end)
        while start + length <= end_of_window:
            slots.append(Slot(start.replace(tzinfo=rule.tz), (start + length).replace(tzinfo=rule.tz)))
            start += length
    return slots


def slots_between(rule: SlotRule, date_from: date, date_to: date) -> list[Slot]:
    """Every slot from ``date_from`` to ``date_to`` inclusive, in order."""
    slots: list[Slot] = []
    day = date_from
    while day <= date_to:
        slots.extend(slots_on(rule, day))
        day += timedelta(days=1)
    return slots
