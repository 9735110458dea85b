"""Partners and their credentials: create a partner, issue and revoke API keys, rotate secrets.

API keys look like ``cfk_<43 url-safe characters>`` (32 random bytes). The plaintext is
returned once by ``partner_api_key_issue``; only its SHA-256 is stored. A lookup narrows by
the stored prefix and compares hashes with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from creditfactory.organisations.models import Branch

from .. import fastpath
from ..locks import partner_api_key_lock, partner_lock
from ..models import Partner, PartnerApiKey, PartnerKind

KEY_SCHEME = "cfk_"
# "cfk_" + 8 random characters: enough to tell keys apart in admin, far too little to guess one.
PREFIX_LENGTH = len(KEY_SCHEME) + 8


class PartnerProductNotAllowed(Exception):
    """The partner may not originate this product."""


def _hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_secret() -> str:
    """A fresh signing / webhook secret (32 random bytes, url-safe)."""
    return secrets.token_urlsafe(32)


def _set_history_user(obj, actor) -> None:
    # simple-history takes the user from the request; services also run from commands and
    # tests, so the actor is named explicitly when there is one.
    if getattr(actor, "pk", None):
        obj._history_user = actor


@transaction.atomic
def partner_create(
    *,
    actor,
    code: str,
    name: str,
    branch: Branch,
    kind: str = PartnerKind.CHANNEL,
    products=(),
    throttle_rate: str = "",
    require_signature: bool = False,
    contact_email: str = "",
) -> Partner:
    """Create a partner with its allowed products. A partner that must sign requests gets a
    signing secret at once (read it back with ``partner.signing_secret`` to hand it over)."""
    partner = Partner(
        code=code,
        name=name,
        kind=kind,
        branch=branch,
        throttle_rate=throttle_rate,
        require_signature=require_signature,
        contact_email=contact_email,
        signing_secret=new_secret() if require_signature else "",
        webhook_secret=new_secret(),
    )
    _set_history_user(partner, actor)
    partner.full_clean()
    partner.save()
    if products:
        partner.products.set(products)
    return partner


@transaction.atomic
def partner_api_key_issue(*, partner: Partner, name: str, actor) -> tuple[PartnerApiKey, str]:
    """Issue a new key. Returns ``(key_row, plaintext)``: show the plaintext once, it cannot be
    recovered later."""
    plaintext = KEY_SCHEME + secrets.token_urlsafe(32)
    key = PartnerApiKey.objects.create(
        partner=partner,
        name=name or _("API key"),
        prefix=plaintext[:PREFIX_LENGTH],
        key_hash=_hash_key(plaintext),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    record_transition(key, from_state="", to_state="active", actor=actor, field="key",
                      reason=stored_text(gettext_noop("API key issued")))
    return key, plaintext


@transaction.atomic
def partner_api_key_revoke(*, key: PartnerApiKey, actor, reason: str = "") -> PartnerApiKey:
    """Revoke a key; it answers 401 from the next request on. Revoking twice changes nothing."""
    locked = partner_api_key_lock(key.pk)
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor if getattr(actor, "pk", None) else None
    locked.save(update_fields=["revoked_at", "revoked_by"])
    record_transition(locked, from_state="active", to_state="revoked", actor=actor, field="key", reason=reason)
    return locked


def partner_api_key_lookup(plaintext: str) -> PartnerApiKey | None:
    """The key row for ``plaintext`` (revoked or not) with its partner and the partner's branch
    (which owns what the partner creates), or None."""
    if not plaintext or not plaintext.startswith(KEY_SCHEME) or len(plaintext) < PREFIX_LENGTH:
        return None
    digest = _hash_key(plaintext)
    # No ordering: at most a handful of keys share a prefix, and each is compared in constant time.
    for candidate in fastpath.api_keys_by_prefix(plaintext[:PREFIX_LENGTH]):
        if hmac.compare_digest(candidate.key_hash, digest):
            return candidate
    return None


def partner_api_key_touch(*, key: PartnerApiKey, now=None) -> None:
    """Record use, at most once per ``PARTNER_API_KEY_TOUCH_SECONDS`` so a busy key does not
    write a row on every request (a conditional UPDATE, no read-modify-write)."""
    now = now or timezone.now()
    threshold = now - timedelta(seconds=settings.PARTNER_API_KEY_TOUCH_SECONDS)
    if key.last_used_at is not None and key.last_used_at > threshold:
        return
    PartnerApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold), pk=key.pk).update(
        last_used_at=now
    )
    key.last_used_at = now


@transaction.atomic
def partner_signing_secret_rotate(*, partner: Partner, actor) -> str:
    """Replace the request-signing secret; returns the new secret (show it once). Requests
    signed with the old secret fail from now on."""
    locked = partner_lock(partner.pk)
    locked.signing_secret = new_secret()
    locked.save(update_fields=["signing_secret", "updated_at"])
    record_transition(locked, from_state="", to_state="rotated", actor=actor, field="signing_secret")
    partner.signing_secret = locked.signing_secret
    return locked.signing_secret


@transaction.atomic
def partner_webhook_secret_rotate(*, partner: Partner, actor) -> str:
    """Replace the partner-wide webhook secret (used by endpoints without their own)."""
    locked = partner_lock(partner.pk)
    locked.webhook_secret = new_secret()
    locked.save(update_fields=["webhook_secret", "updated_at"])
    record_transition(locked, from_state="", to_state="rotated", actor=actor, field="webhook_secret")
    partner.webhook_secret = locked.webhook_secret
    return locked.webhook_secret


def partner_check_product(*, partner: Partner, code: str) -> None:
    """Raise ``PartnerProductNotAllowed`` unless ``partner`` may originate product ``code``.
    Whether the product is on offer at all is ``products.selectors.product_version_for_origination``."""
    if not partner.products.filter(code=code).exists():
        raise PartnerProductNotAllowed(
            _("Product %(code)s is not available to this partner.") % {"code": code}
        )
