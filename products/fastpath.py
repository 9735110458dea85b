"""Prebuilt statements of products on the measured origination hot path (docs/benchmarks.md).

Every partner application starts by reading whether its product is on offer, which version is
current and whether the partner may sell it; one hand-written statement does that instead of a
queryset compiled per request ("one query for the product and the partner's right to sell it" in
docs/benchmarks.md). Each statement here has a test proving it reads what the ORM reads
(tests/products/test_fastpath.py); anything else about products is read with querysets.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import connection

from creditfactory.core.rows import execute

from .models import LoanProduct

__all__ = ["ProductOffer", "product_offer_read"]


class ProductOffer(NamedTuple):
    """What an origination needs to know about a product before it reads its version."""

    product_id: int
    status: str
    current_version_id: int | None
    updated_at: datetime
    open_to_partner: bool


_STATEMENTS: dict[str, str] = {}


def _offer_sql() -> str:
    sql = _STATEMENTS.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        # The partners' table of allowed products, reached from the product's side so that
        # products does not depend on where the partner model lives.
        through = LoanProduct.partners.through
        product_column = next(f.column for f in through._meta.concrete_fields
                              if getattr(f, "related_model", None) is LoanProduct)
        partner_column = next(f.column for f in through._meta.concrete_fields
                              if f.is_relation and f.related_model is not LoanProduct)
        sql = _STATEMENTS[connection.vendor] = (
            f"SELECT p.id, p.status, p.current_version_id, p.updated_at, "
            f"EXISTS (SELECT 1 FROM {quote(through._meta.db_table)} pp "
            f"WHERE pp.{quote(product_column)} = p.id AND pp.{quote(partner_column)} = %s) "
            f"FROM {quote(LoanProduct._meta.db_table)} p WHERE p.code = %s"
        )
    return sql


def product_offer_read(*, code: str, partner_id: int | None) -> ProductOffer | None:
    """The product ``code`` as an origination sees it, in one statement; ``None`` if there is no
    such product. ``open_to_partner`` is false without a partner."""
    with connection.cursor() as cursor:
        execute(cursor, _offer_sql(), [partner_id, code])
        row = cursor.fetchone()
    if row is None:
        return None
    product_id, status, version_id, stamp, open_to_partner = row
    return ProductOffer(product_id, status, version_id, stamp, bool(open_to_partner))
