"""Celery tasks of servicing. Thin: parse the arguments, call one service."""

from datetime import date

from celery import shared_task

from .services.lines import lines_expire


@shared_task(name="servicing.lines_expire", acks_late=True)
def lines_expire_task(on_date: str | None = None) -> int:
    """Daily (beat, entry ``servicing.lines-expire``): expire the lines whose validity ended before
    ``on_date`` (ISO date; default the business date). Safe to re-run."""
    return lines_expire(on_date=date.fromisoformat(on_date) if on_date else None)
