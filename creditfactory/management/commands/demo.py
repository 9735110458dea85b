"""``python manage.py demo``: load the demo data (idempotent) and print the logins."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string

from creditfactory.demo import LATE_SEEDERS, SEEDERS
from creditfactory.organisations.demo import STAFF, demo_password


class Command(BaseCommand):
    help = "Load demo products, branches, roles, staff, work groups and more. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000",
                            help="where the site will be served, for the addresses printed at the end")

    def handle(self, *args, **options):
        log = self.stdout.write
        log("Loading demo data …")
        context: dict = {}
        with transaction.atomic():
            for dotted in SEEDERS:
                result = import_string(dotted)(context=context, log=log)
                if result:
                    context.update(result)
        for dotted in LATE_SEEDERS:
            with transaction.atomic():
                import_string(dotted)(context=context, log=log)
        password = demo_password()
        log(self.style.SUCCESS("Demo data ready."))
        log("")
        base = options["base_url"].rstrip("/")
        log(f"  Back office:  {base}/")
        log(f"  Django admin: {base}/admin/")
        log(f"  API docs:     {base}/api/docs/")
        log("")
        log(f"  admin login:  admin / {password}")
        for username, (role, branch, _name) in STAFF.items():
            log(f"  staff login:  {username:<13} / {password}   ({role}, {branch})")
        log("  (set DEMO_PASSWORD before the first run to choose another password)")
