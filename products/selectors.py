"""Reads of products."""

import copy

from django.db import connection
from django.utils.translation import gettext as _

from .models import LoanProduct, ProductStatus, ProductVersion


class ProductNotAvailable(Exception):
    pass


class ProductNotOpenToPartner(ProductNotAvailable):
    """The product is on offer, but the partner does not sell it."""


# A published version never changes, so it is cached per process with its product, keyed by
# (version id, the product's updated_at): every write of a product bumps updated_at (auto_now), so
# an edited product (its name, even its code) is read again at once. Which version is current,
# and whether the product is on offer, are read from the database on every call.
_VERSION_CACHE: dict[tuple, ProductVersion] = {}
_VERSION_CACHE_MAX = 1_000


def _origination_sql() -> str:
    quote = connection.ops.quote_name
    through = _partner_products_through()
    product_column = next(f.column for f in through._meta.concrete_fields
                          if getattr(f, "related_model", None) is LoanProduct)
    partner_column = next(f.column for f in through._meta.concrete_fields
                          if f.is_relation and f.related_model is not LoanProduct)
    return (
        f"SELECT p.id, p.status, p.current_version_id, p.updated_at, "
        f"EXISTS (SELECT 1 FROM {quote(through._meta.db_table)} pp "
        f"WHERE pp.{quote(product_column)} = p.id AND pp.{quote(partner_column)} = %s) "
        f"FROM {quote(LoanProduct._meta.db_table)} p WHERE p.code = %s"
    )


def _partner_products_through():
    from creditfactory.partners.models import Partner

    return Partner.products.through


def _cached_version(version_id: int, product_stamp) -> ProductVersion:
    key = (version_id, product_stamp)
    version = _VERSION_CACHE.get(key)
    if version is None:
        version = ProductVersion.objects.select_related("product").get(pk=version_id)
        if len(_VERSION_CACHE) >= _VERSION_CACHE_MAX:
            _VERSION_CACHE.clear()
        _VERSION_CACHE[key] = version
    return copy.copy(version)


def product_version_for_origination(*, code: str, partner=None) -> ProductVersion:
    """The version a new origination must record: the current version of an active product, with
    its product loaded. One query (the version itself comes from the per-process cache; each
    caller gets its own copy). With ``partner``, a product on offer that the partner does not
    sell raises ``ProductNotOpenToPartner``."""
    with connection.cursor() as cursor:
        cursor.execute(_origination_sql(), [getattr(partner, "pk", None), code])
        row = cursor.fetchone()
    if row is None:
        raise ProductNotAvailable(_("Unknown product %(code)s.") % {"code": code})
    _product_id, status, version_id, stamp, open_to_partner = row
    if status != ProductStatus.ACTIVE or version_id is None:
        raise ProductNotAvailable(_("Product %(code)s is not on offer.") % {"code": code})
    if partner is not None and not open_to_partner:
        raise ProductNotOpenToPartner(_("Product %(code)s is not open to this partner.") % {"code": code})
    return _cached_version(version_id, stamp)


_PUBLISHED: dict[int, ProductVersion] = {}


def published_version(version_id: int) -> ProductVersion:
    """The published version ``version_id`` (its own fields only: the product is read when
    touched), from a per-process cache: a published version never changes. Each caller gets its
    own copy."""
    version = _PUBLISHED.get(version_id)
    if version is None:
        version = ProductVersion.objects.get(pk=version_id)
        if len(_PUBLISHED) >= _VERSION_CACHE_MAX:
            _PUBLISHED.clear()
        _PUBLISHED[version_id] = version
    return copy.copy(version)


def active_products():
    return LoanProduct.objects.filter(status=ProductStatus.ACTIVE).select_related("current_version").order_by("code")
