"""Strategy selection and publishing: which bucket a DPD is in, which class a loan is in, which
strategy (and version) a product's cases run under, which action is in force at a DPD."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text

from ..locks import strategy_lock
from ..models import Bucket, Classification, ClassificationThreshold, CollectionStrategy, StrategyStep, StrategyVersion

__all__ = ["bucket_for", "classification_for", "step_for", "strategy_publish", "strategy_version_for"]


def bucket_for(dpd: int) -> str | None:
    """The code of the bucket ``dpd`` is in (None when no bucket covers it)."""
    for bucket in Bucket.objects.order_by("-min_dpd"):
        if bucket.min_dpd <= dpd and (bucket.max_dpd is None or dpd <= bucket.max_dpd):
            return bucket.code
    return None


def classification_for(dpd: int) -> str:
    """The worst class whose threshold ``dpd`` reaches (normal below every threshold)."""
    threshold = ClassificationThreshold.objects.filter(min_dpd__lte=dpd).order_by("-min_dpd").first()
    return threshold.classification if threshold else Classification.NORMAL


def strategy_version_for(product) -> StrategyVersion | None:
    """The current version of the product's own strategy, else of the default strategy."""
    for strategy in (CollectionStrategy.objects.filter(product=product).select_related("current_version").first(),
                     CollectionStrategy.objects.filter(product__isnull=True).select_related("current_version")
                     .first()):
        if strategy is not None and strategy.current_version_id:
            return strategy.current_version
    return None


def step_for(version: StrategyVersion, *, dpd: int) -> StrategyStep | None:
    """The action in force at ``dpd``: the last one (in order) whose ``from_dpd`` it reached."""
    return version.steps.filter(from_dpd__lte=dpd).order_by("-seq").first()


def _errors(strategy: CollectionStrategy) -> list[str]:
    errors = []
    actions = list(strategy.actions.select_related("bucket", "agency"))
    if not actions:
        errors.append(_("A strategy needs at least one action."))
    for action in actions:
        try:
            action.full_clean()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.extend(f"{action.from_dpd} {action.get_kind_display()} ({field}): {message}"
                              for message in messages)
    return errors


@transaction.atomic
def strategy_publish(*, strategy: CollectionStrategy, actor) -> StrategyVersion:
    """Publish the working copy as a new immutable version (with its steps), unless it did not
    change since the current one. New cases run under it; open cases keep theirs."""
    locked = strategy_lock(strategy.pk)
    locked.full_clean()
    errors = _errors(locked)
    if errors:
        raise ValidationError(errors)
    definition = locked.definition()
    current = locked.current_version
    if current is not None and current.definition == definition:
        strategy.current_version = current
        return current
    last = StrategyVersion.objects.filter(strategy=locked).aggregate(last=Max("version"))["last"] or 0
    version = StrategyVersion.objects.create(strategy=locked, version=last + 1, definition=definition,
                                             published_by=actor if getattr(actor, "pk", None) else None)
    StrategyStep.objects.bulk_create([
        StrategyStep(version=version, seq=seq, bucket=spec["bucket"], from_dpd=spec["from_dpd"], kind=spec["kind"],
                     template=spec["template"], work_group_id=spec["work_group"], agency_id=spec["agency"],
                     commission_percent=(Decimal(spec["commission_percent"])
                                         if spec["commission_percent"] is not None else None),
                     cadence_days=spec["cadence_days"])
        for seq, spec in enumerate(definition["actions"])])
    locked.current_version = version
    locked.save(update_fields=["current_version", "updated_at"])
    record_transition(locked, field="version", from_state=str(current.version) if current else "",
                      to_state=str(version.version), actor=actor,
                      reason=stored_text(gettext_noop("Published version %(version)s"), version=version.version))
    strategy.current_version = version
    return version
