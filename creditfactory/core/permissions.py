"""The one check every back-office write makes in its service: a staff actor holds a named
permission. Views check too (to hide buttons and answer early), but the service is where a write
is refused, so a view that forgets, an admin action or a shell call cannot write past it.

``actor`` is the staff user; ``None`` means the system or a partner (``actor_label``), whose
channel is authenticated elsewhere (the partner API's keys, Celery, commands).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

__all__ = ["require_permission", "staff_may"]


def staff_may(actor, *permissions: str, obj=None) -> bool:
    """Whether the staff user ``actor`` holds any one of ``permissions`` (on ``obj`` when given:
    an object permission, or the same permission held globally)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    for permission in permissions:
        if actor.has_perm(permission) or (obj is not None and actor.has_perm(permission, obj)):
            return True
    return False


def require_permission(actor, *permissions: str, obj=None, message: str = "") -> None:
    """Raise ``PermissionDenied`` unless ``actor`` is the system/partner (``None``) or a staff user
    holding one of ``permissions``."""
    if actor is None:
        return
    if not staff_may(actor, *permissions, obj=obj):
        raise PermissionDenied(message or _("Your role may not do this."))
