"""``manage.py partner_create NAME [--code CODE] [--products CODE ...] [--branch CODE] [--kind KIND]``

Creates a partner and prints a new API key once (and the signing secret, with
``--require-signature``). Only the key's hash is stored: the printed value cannot be shown again.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from creditfactory.organisations.models import Branch
from creditfactory.partners.models import Partner, PartnerKind
from creditfactory.partners.services import partners as partner_services


class Command(BaseCommand):
    help = "Create an API partner and print its first API key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Partner name, e.g. 'Acme Channel'.")
        parser.add_argument("--code", help="Stable partner code (default: derived from the name).")
        parser.add_argument("--products", nargs="*", default=[], metavar="CODE", help="Allowed product codes.")
        parser.add_argument(
            "--branch", metavar="CODE", help="Home branch code (default: the only root branch, if there is one)."
        )
        parser.add_argument("--kind", choices=PartnerKind.values, default=PartnerKind.CHANNEL)
        parser.add_argument("--rate", default="", metavar="RATE", help="Rate limit, e.g. 600/min (default: platform).")
        parser.add_argument("--require-signature", action="store_true", help="Require HMAC-signed requests.")
        parser.add_argument("--email", default="", help="Technical contact e-mail.")
        parser.add_argument("--key-name", default="initial", help="Name of the first API key.")

    def handle(self, *args, **options):
        name = options["name"].strip()
        code = options["code"] or slugify(name).replace("-", "_").upper()
        if not code:
            raise CommandError("Cannot derive a code from this name: pass --code.")
        if Partner.objects.filter(code=code).exists():
            raise CommandError(f"A partner with code {code!r} already exists.")
        products = self._products(options["products"])
        branch = self._branch(options["branch"])

        try:
            with transaction.atomic():
                partner = partner_services.partner_create(
                    actor=None,
                    code=code,
                    name=name,
                    kind=options["kind"],
                    branch=branch,
                    products=products,
                    throttle_rate=options["rate"],
                    require_signature=options["require_signature"],
                    contact_email=options["email"],
                )
                _key, plaintext = partner_services.partner_api_key_issue(
                    partner=partner, name=options["key_name"], actor=None
                )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
            raise CommandError(f"Invalid partner: {problems}") from exc

        product_list = ", ".join(p.code for p in products) or "none"
        self.stdout.write(self.style.SUCCESS(f"Partner {partner.code} ({partner.name}) created in branch "
                                             f"{branch.code}; products: {product_list}."))
        self.stdout.write(f"API key (shown once, store it now): {plaintext}")
        if partner.require_signature:
            self.stdout.write(f"Request signing secret (shown once): {partner.signing_secret}")
        self.stdout.write("Send it as: Authorization: Bearer <API key>")

    def _branch(self, code):
        if code:
            branch = Branch.objects.filter(code=code).first()
            if branch is None:
                known = ", ".join(Branch.objects.order_by("code").values_list("code", flat=True)[:20]) or "none"
                raise CommandError(f"Unknown branch {code!r} (known: {known}).")
            return branch
        roots = list(Branch.objects.get_root_nodes()[:2])
        if len(roots) != 1:
            raise CommandError("Pass --branch CODE: the home branch cannot be guessed"
                               + (" (there are no branches yet)." if not roots else "."))
        return roots[0]

    def _products(self, codes):
        codes = list(dict.fromkeys(codes))
        # The product model through the partner's relation: products sit above this app.
        LoanProduct = Partner._meta.get_field("products").related_model
        found = {p.code: p for p in LoanProduct.objects.filter(code__in=codes)}
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise CommandError(f"Unknown product code(s): {', '.join(unknown)}.")
        return [found[c] for c in codes]
