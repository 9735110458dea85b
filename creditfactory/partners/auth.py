"""Partner authentication: API keys (``Authorization: Bearer cfk_…``), optional HMAC request
signing, the ``IsPartner`` permission and the per-partner rate limit.

A partner endpoint needs only::

    class ApplicationCreateApi(PartnerApiMixin, APIView): ...

or the three lists ``PARTNER_AUTHENTICATION``, ``PARTNER_PERMISSIONS``, ``PARTNER_THROTTLES``.
Every other DRF view refuses partner keys (403 ``partner_key_not_accepted``): staff endpoints
default to ``IsAuthenticated``, which a partner would otherwise pass. ``request.user`` on a
partner endpoint is a ``PartnerPrincipal`` (never a staff user: its ``pk`` is None, it has
no permissions), ``request.auth`` the ``PartnerApiKey`` and ``request.partner`` the partner.

Signing (when ``Partner.require_signature``): the client sends ``X-CF-Timestamp`` (Unix
seconds) and ``X-CF-Signature`` = hex HMAC-SHA256(signing secret, timestamp + "\\n" + METHOD +
"\\n" + path with query + "\\n" + hex SHA-256(body)). The timestamp must lie within
``PARTNER_SIGNATURE_MAX_SKEW_SECONDS`` of the server clock and a signature is accepted once
(remembered in the cache for the whole window), so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _, gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

if TYPE_CHECKING:
    from .models import Partner, PartnerApiKey

# Models (and the services that use them) are imported inside functions: DRF imports this module
# (DEFAULT_AUTHENTICATION_CLASSES) as soon as rest_framework.views is imported, which may happen
# before the app registry is ready.

TIMESTAMP_HEADER = "X-CF-Timestamp"
SIGNATURE_HEADER = "X-CF-Signature"
# Set on the Django request once a key names an active partner: PartnerUsageMiddleware counts
# the request for that partner (middleware.py).
USAGE_PARTNER_ATTRIBUTE = "api_usage_partner_id"


class PartnerPrincipal:
    """``request.user`` for a partner-authenticated request. It behaves like an authenticated
    user with no permissions and no primary key, so nothing mistakes it for staff (simple-history
    records no user; ``has_perm`` is always False)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, partner: Partner, api_key: PartnerApiKey):
        self.partner = partner
        self.api_key = api_key

    @property
    def username(self) -> str:
        return self.partner.actor_label

    @property
    def actor_label(self) -> str:
        """For audit rows (``StateTransition.actor_label``) written on the partner's behalf."""
        return self.partner.actor_label

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perm_list, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False

    def __str__(self):
        return self.username

    def __repr__(self):
        return f"<PartnerPrincipal {self.partner.code} key={self.api_key.prefix}>"


def request_partner(request) -> Partner | None:
    """The partner behind ``request`` (DRF or Django request), or None for anyone else."""
    user = getattr(request, "user", None)
    return user.partner if isinstance(user, PartnerPrincipal) else None


def view_accepts_partner_keys(view) -> bool:
    """A view serves partners if it says so (``accepts_partner_keys``, set by PartnerApiMixin)
    or requires ``IsPartner``; every other view refuses partner keys."""
    flag = getattr(view, "accepts_partner_keys", None)
    if flag is not None:
        return bool(flag)
    return any(isinstance(p, type) and issubclass(p, IsPartner) for p in getattr(view, "permission_classes", ()))


def _is_public(view) -> bool:
    classes = list(getattr(view, "permission_classes", ()))
    return bool(classes) and all(c is permissions.AllowAny for c in classes)


def _failed(code: str, message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code=code)


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``. No Bearer header → not this scheme (None), so session
    authentication may still apply; on a partner endpoint a bad key is always a 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise _failed("invalid_api_key", _("The Authorization header must be 'Bearer <API key>'."))
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise _failed("invalid_api_key", _("Unknown API key.")) from None

        view = (getattr(request, "parser_context", None) or {}).get("view")
        if view is not None and not view_accepts_partner_keys(view):
            if _is_public(view):
                return None  # e.g. the schema: the key is simply not needed
            # Staff endpoints default to IsAuthenticated, which a partner would pass: refuse
            # partner keys there outright.
            raise exceptions.PermissionDenied(
                _("Partner API keys are not accepted on this endpoint."), code="partner_key_not_accepted"
            )
        from .services.partners import partner_api_key_lookup, partner_api_key_touch

        key = partner_api_key_lookup(token)
        if key is None:
            raise _failed("invalid_api_key", _("Unknown API key."))
        if key.revoked_at is not None:
            raise _failed("api_key_revoked", _("This API key has been revoked."))
        partner = key.partner
        if not partner.is_active:
            raise _failed("partner_inactive", _("This partner is not active."))
        # Usage statistics count from here on, also calls refused for their signature or rate.
        setattr(request._request, USAGE_PARTNER_ATTRIBUTE, partner.pk)
        if partner.require_signature:
            verify_request_signature(request, partner=partner, key=key)

        partner_api_key_touch(key=key)
        request._request.partner = partner
        return PartnerPrincipal(partner, key), key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


def signature_payload(*, timestamp: str, method: str, path: str, body: bytes) -> bytes:
    """The exact bytes a client signs (see the module docstring and docs/api.md)."""
    return "\n".join([timestamp, method.upper(), path, hashlib.sha256(body).hexdigest()]).encode()


def sign_request(secret: str, *, timestamp: str, method: str, path: str, body: bytes) -> str:
    """Reference implementation of the client side (used by tests and the docs' example)."""
    message = signature_payload(timestamp=timestamp, method=method, path=path, body=body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_request_signature(request, *, partner: Partner, key: PartnerApiKey, now: float | None = None) -> None:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    signature = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not timestamp or not signature:
        raise _failed(
            "signature_required",
            _("This partner must sign requests: send %(ts)s and %(sig)s.") % {"ts": TIMESTAMP_HEADER,
                                                                             "sig": SIGNATURE_HEADER},
        )
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise _failed("signature_invalid", _("%(ts)s must be Unix time in seconds.") % {"ts": TIMESTAMP_HEADER})
    skew = settings.PARTNER_SIGNATURE_MAX_SKEW_SECONDS
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > skew:
        raise _failed(
            "signature_expired",
            _("%(ts)s is more than %(skew)d seconds away from the server clock.") % {"ts": TIMESTAMP_HEADER,
                                                                                    "skew": skew},
        )
    if not partner.signing_secret:
        raise _failed("signature_invalid", _("No signing secret is configured for this partner."))
    django_request = request._request
    expected = sign_request(
        partner.signing_secret,
        timestamp=timestamp,
        method=django_request.method,
        path=django_request.get_full_path(),
        body=django_request.body,
    )
    if not hmac.compare_digest(expected, signature):
        raise _failed("signature_invalid", _("The request signature does not match."))
    # A valid signature is accepted once within the window in which its timestamp is valid.
    if not cache.add(f"cf:partner-signature:{key.pk}:{signature}", 1, timeout=2 * skew + 1):
        raise _failed("signature_replayed", _("This signature has already been used; sign each request anew."))


class IsPartner(permissions.BasePermission):
    """The caller authenticated with a partner API key."""

    message = gettext_lazy("A partner API key is required.")

    def has_permission(self, request, view):
        return isinstance(request.user, PartnerPrincipal)


class PartnerRateThrottle(throttling.SimpleRateThrottle):
    """Per-partner limit: ``Partner.throttle_rate`` or ``PARTNER_DEFAULT_THROTTLE_RATE``. All
    keys of a partner share it. Other callers are not limited by this class."""

    scope = "partner"

    def __init__(self):
        # The rate is per partner, so it is resolved per request in allow_request.
        self.rate = None

    def allow_request(self, request, view):
        partner = request_partner(request)
        if partner is None:
            return True
        self.rate = partner.throttle_rate or settings.PARTNER_DEFAULT_THROTTLE_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        partner = request_partner(request)
        if partner is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": partner.pk}


PARTNER_AUTHENTICATION = [PartnerKeyAuthentication]
PARTNER_PERMISSIONS = [IsPartner]
PARTNER_THROTTLES = [PartnerRateThrottle]


class PartnerApiMixin:
    """Base for partner endpoints: key authentication, partner-only, per-partner rate limit."""

    authentication_classes = PARTNER_AUTHENTICATION
    permission_classes = PARTNER_PERMISSIONS
    throttle_classes = PARTNER_THROTTLES
    accepts_partner_keys = True

    @property
    def partner(self) -> Partner:
        return self.request.user.partner

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # DRF copies the principal onto the Django request, where simple-history's middleware
        # would store it as the history user (a User foreign key, so saving fails): code below
        # DRF sees an anonymous user; DRF's request.user stays the principal.
        if isinstance(request.user, PartnerPrincipal):
            from django.contrib.auth.models import AnonymousUser

            request._request.user = AnonymousUser()


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the partner key as an HTTP bearer scheme."""

    target_class = "creditfactory.partners.auth.PartnerKeyAuthentication"
    name = "PartnerKey"

    def get_security_requirement(self, auto_schema):
        # Listed only on endpoints that accept partner keys, so staff endpoints stay accurate.
        return {self.name: []} if view_accepts_partner_keys(auto_schema.view) else None

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "cfk_<43 characters>",
            "description": "Partner API key, issued by the lender's operators and shown once. Partners that "
            "must sign requests also send X-CF-Timestamp and X-CF-Signature (see docs/api.md).",
        }
