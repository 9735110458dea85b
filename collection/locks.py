"""Every lock the collections app takes, by name (nothing else in the app calls
``select_for_update``). Order: a case, then its promises / hardship holds; the close takes no
case lock — its statements are set-based and conditional (``WHERE status = 'open'``)."""

from __future__ import annotations

from .models import CollectionCase, CollectionStrategy, HardshipHold, Promise


def case_lock(pk: int) -> CollectionCase:
    return (CollectionCase.objects.select_for_update(of=("self",))
            .select_related("loan__applicant", "strategy_version").get(pk=pk))


def strategy_lock(pk: int) -> CollectionStrategy:
    """A strategy's working copy, while a new version is published."""
    return CollectionStrategy.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=pk)


def promise_lock(pk: int) -> Promise:
    return Promise.objects.select_for_update(of=("self",)).get(pk=pk)


def hardship_lock(pk: int) -> HardshipHold:
    return HardshipHold.objects.select_for_update(of=("self",)).get(pk=pk)
