"""``python manage.py business_date``: print the business date (营业日); ``--set YYYY-MM-DD``
moves it (refused, exit 1, when a posting is dated after the new date)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from servicing.services.calendar import BusinessDateRefused, business_date, business_date_set


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--set takes a date as YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Print the business date, or set it with --set YYYY-MM-DD [--reason TEXT]."

    def add_arguments(self, parser):
        parser.add_argument("--set", dest="new_date", metavar="YYYY-MM-DD", help="the new business date")
        parser.add_argument("--reason", default="", help="why it is set (kept with the date)")

    def handle(self, *args, new_date=None, reason="", **options):
        if new_date:
            date = _date(new_date)
            try:
                business_date_set(date=date, actor=None, reason=reason or "business_date --set")
            except BusinessDateRefused as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(business_date().isoformat())
