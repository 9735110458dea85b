"""``python manage.py dashboard_backfill``: once after upgrading to the release that added the
dashboard's nightly aggregates, write ``DisbursementDay`` and ``RecoveryDay`` for the dates closed
before it (``collection.services.snapshot.dashboard_backfill``). Idempotent: running it again
writes the same rows. ``--first`` / ``--last`` limit the dates (default: all closed dates)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from collection.services.snapshot import dashboard_backfill


def _date(option: str, value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} takes a date as YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Write the dashboard's disbursement and recovery figures of the dates closed before an upgrade."

    def add_arguments(self, parser):
        parser.add_argument("--first", metavar="YYYY-MM-DD", help="first date (default: the first loan's)")
        parser.add_argument("--last", metavar="YYYY-MM-DD", help="last date (default: the last closed date)")

    def handle(self, *args, first=None, last=None, **options):
        first, last = _date("--first", first), _date("--last", last)
        if first and last and first > last:
            raise CommandError("--first is after --last.")
        counts = dashboard_backfill(first=first, last=last)
        self.stdout.write(" ".join(f"{name}={value}" for name, value in counts.items()))
