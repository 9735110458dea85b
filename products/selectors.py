"""Reads of products."""

from django.utils.translation import gettext as _

from .models import LoanProduct, ProductStatus, ProductVersion


class ProductNotAvailable(Exception):
    pass


def product_version_for_origination(*, code: str) -> ProductVersion:
    """The version a new origination must record: the current version of an active product."""
    product = LoanProduct.objects.select_related("current_version").filter(code=code).first()
    if product is None:
        raise ProductNotAvailable(_("Unknown product %(code)s.") % {"code": code})
    if product.status != ProductStatus.ACTIVE or product.current_version is None:
        raise ProductNotAvailable(_("Product %(code)s is not on offer.") % {"code": code})
    return product.current_version


def active_products():
    return LoanProduct.objects.filter(status=ProductStatus.ACTIVE).select_related("current_version").order_by("code")
