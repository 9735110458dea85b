"""``python manage.py credit_growth_review [--date YYYY-MM-DD] [--product CODE]``: run the credit
growth review (额度动态调整) now — what the daily beat task does. Prints the counts."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from products.models import LoanProduct
from workflows.services.credit_growth import credit_growth_review


class Command(BaseCommand):
    help = "Review the credit lines due for credit growth (cadence per product) and apply the changes."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=datetime.date.fromisoformat, default=None,
                            help="The review date (default: the business date).")
        parser.add_argument("--product", default="", help="Only this product's lines (its code).")

    def handle(self, *args, **options):
        product = None
        if options["product"]:
            product = LoanProduct.objects.filter(code=options["product"]).first()
            if product is None:
                raise CommandError(f"There is no product {options['product']!r}.")
        counts = credit_growth_review(business_date=options["date"], product=product)
        self.stdout.write(" ".join(f"{name}={value}" for name, value in counts.items()))
