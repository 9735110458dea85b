"""Writes to products: create, edit, publish (an immutable version), retire."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import StateMachine, change_state, record_transition
from creditfactory.core.texts import stored_text

from .locks import product_lock
from .models import LoanProduct, ProductStatus, ProductTerms, ProductVersion

PRODUCT_STATES = StateMachine(
    {
        ProductStatus.DRAFT: frozenset({ProductStatus.ACTIVE}),
        ProductStatus.ACTIVE: frozenset({ProductStatus.RETIRED}),
        ProductStatus.RETIRED: frozenset({ProductStatus.ACTIVE}),
    }
)


def _lock(product: LoanProduct, actor=None) -> LoanProduct:
    locked = product_lock(product.pk)
    # simple-history records the acting user from the request; services called outside a
    # request (commands, tasks, tests) name the actor explicitly.
    if getattr(actor, "pk", None):
        locked._history_user = actor
    return locked


def _snapshot(product: LoanProduct, *, actor) -> ProductVersion:
    last = product.versions.order_by("-version").values_list("version", flat=True).first() or 0
    values = {name: getattr(product, name) for name in ProductTerms.term_field_names()}
    return ProductVersion.objects.create(
        product=product, version=last + 1, published_by=actor if getattr(actor, "pk", None) else None, **values
    )


def _parameters_changed(product: LoanProduct) -> bool:
    version = product.current_version
    if version is None:
        return True
    return any(getattr(product, name) != getattr(version, name) for name in ProductTerms.term_field_names())


@transaction.atomic
def product_create(*, actor, code: str, **parameters) -> LoanProduct:
    product = LoanProduct(code=code, **parameters)
    if getattr(actor, "pk", None):
        product._history_user = actor
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_publish(*, product: LoanProduct, actor) -> ProductVersion:
    """Validate and publish the working copy as the next immutable version; a draft or retired
    product becomes active."""
    locked = _lock(product, actor)
    locked.full_clean()
    version = _snapshot(locked, actor=actor)
    locked.current_version = version
    if locked.status != ProductStatus.ACTIVE:
        change_state(
            locked, to_state=ProductStatus.ACTIVE, machine=PRODUCT_STATES, actor=actor,
            reason=stored_text(gettext_noop("Published version %(version)s"), version=version.version),
            extra_update_fields=["current_version"],
        )
    else:
        locked.save(update_fields=["current_version", "updated_at"])
        record_transition(
            locked, from_state=ProductStatus.ACTIVE, to_state=ProductStatus.ACTIVE, actor=actor,
            reason=stored_text(gettext_noop("Published version %(version)s"), version=version.version),
        )
    product.refresh_from_db()
    return version


@transaction.atomic
def product_update(*, product: LoanProduct, actor, **changes) -> LoanProduct:
    """Edit the working copy. Editing an active product publishes the next version at once, so
    what is on offer always equals a published version; running originations keep theirs."""
    locked = _lock(product, actor)
    for name, value in changes.items():
        if name not in ProductTerms.term_field_names():
            raise ValidationError({name: _("This field cannot be changed.")})
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    if locked.status == ProductStatus.ACTIVE and _parameters_changed(locked):
        product_publish(product=locked, actor=actor)
    product.refresh_from_db()
    return product


@transaction.atomic
def product_save_from_admin(*, product: LoanProduct, actor) -> LoanProduct:
    """The admin form already validated and applied the changes to ``product``; save it with the
    same rule as ``product_update``."""
    is_new = product.pk is None
    if not is_new:
        _lock(product)
    product.save()
    if not is_new and product.status == ProductStatus.ACTIVE and _parameters_changed(product):
        product_publish(product=product, actor=actor)
    return product


@transaction.atomic
def product_retire(*, product: LoanProduct, actor, reason: str = "") -> LoanProduct:
    """No new originations; running ones continue on their version."""
    locked = _lock(product, actor)
    change_state(locked, to_state=ProductStatus.RETIRED, machine=PRODUCT_STATES, actor=actor, reason=reason)
    product.refresh_from_db()
    return product
