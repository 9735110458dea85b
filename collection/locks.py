"""Every lock the collections app takes, by name (nothing else in the app calls
``select_for_update``). Order: the borrower's row (``borrower_contacts_lock``: contacts of a
borrower are counted under it, across cases, channels and collectors), a case, then its promises
/ hardship holds; the close takes no
case lock — its statements are set-based and conditional (``WHERE status = 'open'``)."""

from __future__ import annotations

from risk.models import Applicant

from .models import CollectionCase, CollectionStrategy, HardshipHold, LegalReferral, Promise


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


def legal_referral_lock(pk: int) -> LegalReferral:
    return LegalReferral.objects.select_for_update(of=("self",)).select_related("case__work_group").get(pk=pk)


def borrower_contacts_lock(applicant_id: int) -> None:
    """Serialise the contacts of one borrower, so two collectors cannot both record the last
    contact allowed today."""
    Applicant.objects.select_for_update(of=("self",)).only("id").get(pk=applicant_id)
