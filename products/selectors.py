"""Reads of products."""

import copy

from django.utils.translation import gettext as _

from .fastpath import product_offer_read
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
    offer = product_offer_read(code=code, partner_id=getattr(partner, "pk", None))
    if offer is None:
        raise ProductNotAvailable(_("Unknown product %(code)s.") % {"code": code})
    if offer.status != ProductStatus.ACTIVE or offer.current_version_id is None:
        raise ProductNotAvailable(_("Product %(code)s is not on offer.") % {"code": code})
    if partner is not None and not offer.open_to_partner:
        raise ProductNotOpenToPartner(_("Product %(code)s is not open to this partner.") % {"code": code})
    return _cached_version(offer.current_version_id, offer.updated_at)


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
