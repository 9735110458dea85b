"""``python manage.py ledger_check``: prove the books (``servicing.services.ledger_checks``): every
entry balances, each loan equals the sum of its funding parts, per funder each control account
equals Σ of its loans' sub-ledger balances, each loan's receivables equal its schedule's unpaid
amounts, and each credit line's used equals what its loans drew (less what was repaid, revolving).
Exits 1 and lists the differences, naming the first offending loan, line or account.
``--record`` also records the run (as the nightly task does)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from servicing.services.ledger_checks import ledger_check, ledger_check_record


class Command(BaseCommand):
    help = "Reconcile the loans' sub-ledger with the general ledger, the schedules and the lines; exit 1 on any difference."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=datetime.date.fromisoformat, default=None,
                            help="The business date fees fall due by (default: the current business date).")
        parser.add_argument("--record", action="store_true", help="Record the run (LedgerCheckRun).")

    def handle(self, *args, **options):
        if options["record"]:
            run = ledger_check_record(business_date=options["date"])
            differences = run.differences
            count, first = run.difference_count, run.first_difference
            for difference in differences:
                self.stdout.write(f"{difference['check']} {difference['subject']}: expected {difference['expected']}, "
                                  f"found {difference['actual']}")
        else:
            found = ledger_check(business_date=options["date"])
            for difference in found:
                self.stdout.write(str(difference))
            count, first = len(found), (str(found[0]) if found else "")
        if not count:
            self.stdout.write(self.style.SUCCESS("Ledger check passed: the books balance and reconcile."))
            return
        raise CommandError(f"Ledger check failed: {count} difference(s); first: {first}")
