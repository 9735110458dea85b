"""``python manage.py ledger_check``: prove the books (``servicing.services.ledger.reconcile``):
every entry balances, each loan equals the sum of its funding parts, and per funder each control
account equals Σ of its loans' sub-ledger balances. Exits 1 and lists the differences, the first
offending loan or account first."""

from django.core.management.base import BaseCommand, CommandError

from servicing.services.ledger import reconcile


class Command(BaseCommand):
    help = "Reconcile the loans' sub-ledger with the general ledger; exit 1 on any difference."

    def handle(self, *args, **options):
        differences = reconcile()
        if not differences:
            self.stdout.write(self.style.SUCCESS("Ledger check passed: the books balance and reconcile."))
            return
        for difference in differences:
            self.stdout.write(str(difference))
        raise CommandError(f"Ledger check failed: {len(differences)} difference(s); first: {differences[0]}")
