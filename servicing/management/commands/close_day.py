"""``python manage.py close_day``: close the current business date (日终) and advance it;
``--until YYYY-MM-DD`` closes each following date too, in order; ``--date YYYY-MM-DD`` re-runs
the close of a date already closed (it changes nothing when that close was complete)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from servicing.services.close import CloseRefused, close_date, close_day


def _date(option: str, value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} takes a date as YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Close the business date (and following ones up to --until), or re-run a closed one with --date."

    def add_arguments(self, parser):
        parser.add_argument("--until", metavar="YYYY-MM-DD", help="close each date up to this one, in order")
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="re-run the close of this (closed) date")

    def handle(self, *args, until=None, date=None, **options):
        if until and date:
            raise CommandError("Give --until or --date, not both.")
        try:
            if date:
                results = [close_date(business_date=_date("--date", date))]
            else:
                results = close_day(until=_date("--until", until) if until else None)
        except CloseRefused as exc:
            raise CommandError(str(exc)) from exc
        for result in results:
            figures = " ".join(f"{name}={value}" for name, value in result.items() if name not in ("date",))
            self.stdout.write(f"{result['date'].isoformat()} closed: {figures}")
