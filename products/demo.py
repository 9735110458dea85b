"""Demo products: the four products of the product plan (DOMAIN.md), published."""

from decimal import Decimal

from .models import LoanProduct, ProductStatus
from . import services

DEMO_PRODUCTS = {
    "EMERGENCY": dict(
        name="应急贷 Emergency loan", product_type="revolving_line",
        description="Instant-approval revolving line for short-term needs.",
        amount_min=Decimal("1000.00"), amount_max=Decimal("5000.00"),
        term_unit="months", term_min=1, term_max=3,
        rate_basis="daily", rate_min_percent=Decimal("0.03"), rate_default_percent=Decimal("0.04"),
        rate_max_percent=Decimal("0.05"),
        repayment_methods=["revolving", "bullet"], purposes=["emergency", "consumption"],
        age_min=18, age_max=55, line_validity_months=12, grace_days=3,
    ),
    "RENOVATION": dict(
        name="装修贷 Renovation loan", product_type="consumer",
        description="Home renovation, 1 to 5 years.",
        amount_min=Decimal("50000.00"), amount_max=Decimal("200000.00"),
        term_unit="months", term_min=12, term_max=60,
        rate_basis="annual", rate_min_percent=Decimal("5.5"), rate_default_percent=Decimal("6.5"),
        rate_max_percent=Decimal("8"),
        repayment_methods=["equal_installment", "equal_principal"], purposes=["renovation"],
        age_min=22, age_max=60, line_validity_months=6, upfront_fee_percent=Decimal("0.5"),
        prepayment_fee_percent=Decimal("1"),
    ),
    "EDUCATION": dict(
        name="教育贷 Education loan", product_type="consumer",
        description="Tuition and training, 6 to 36 months.",
        amount_min=Decimal("10000.00"), amount_max=Decimal("100000.00"),
        term_unit="months", term_min=6, term_max=36,
        rate_basis="annual", rate_min_percent=Decimal("6"), rate_default_percent=Decimal("7"),
        rate_max_percent=Decimal("8"),
        repayment_methods=["equal_installment", "equal_principal"], purposes=["education"],
        age_min=18, age_max=55, line_validity_months=6,
    ),
    "BUSINESS": dict(
        name="经营贷 Business loan", product_type="small_business",
        description="Small-business working capital with quarterly interest.",
        amount_min=Decimal("100000.00"), amount_max=Decimal("500000.00"),
        term_unit="months", term_min=6, term_max=60,
        rate_basis="annual", rate_min_percent=Decimal("7"), rate_default_percent=Decimal("8"),
        rate_max_percent=Decimal("9"),
        repayment_methods=["interest_first", "equal_installment"], interest_every_months=3,
        purposes=["working_capital", "equipment", "inventory"],
        age_min=22, age_max=60, line_validity_months=12, prepayment_fee_percent=Decimal("1"),
    ),
}


def seed_products(*, actor=None, log=print) -> None:
    for code, terms in DEMO_PRODUCTS.items():
        product = LoanProduct.objects.filter(code=code).first()
        if product is None:
            product = services.product_create(actor=actor, code=code, **terms)
            log(f"  product {code} created")
        if product.status != ProductStatus.ACTIVE:
            version = services.product_publish(product=product, actor=actor)
            log(f"  product {code} published as version {version.version}")


def seed(*, context: dict, log) -> None:
    seed_products(actor=context.get("admin"), log=log)
