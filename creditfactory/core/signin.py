"""Sign-in protection: the project's side of django-axes (settings in
``settings/components/security.py``, docs/security.md).

* ``locked_out`` — the lockout answer (``AXES_LOCKOUT_CALLABLE``) of the back-office and the admin
  sign-in: a page in the sign-in page's style, in the user's language, status 429, logged.
* ``client_address`` — the address a sign-in came from (``AXES_CLIENT_IP_CALLABLE``): the peer's
  address, or behind ``TRUSTED_PROXY_COUNT`` reverse proxies the one the outermost of them saw
  (taken from the right of ``X-Forwarded-For``, which a client cannot forge past its own proxy).
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.shortcuts import render

logger = logging.getLogger(__name__)

__all__ = ["client_address", "locked_out"]


def client_address(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def locked_out(request, original_response=None, credentials=None):
    """Each refused attempt is logged here; axes also records it in its access-failure log."""
    from axes.helpers import get_client_username, get_cool_off

    username = get_client_username(request, credentials) or ""
    cool_off = get_cool_off(request)
    logger.warning("Sign-in refused: %r is locked out at %s after %d failed attempts (%s).", username,
                   client_address(request), settings.AXES_FAILURE_LIMIT, request.path)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    response = render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Cache-Control"] = "no-store"
    return response
