"""Protection of personal identifiers (ID number, mobile, bank account): encryption at rest,
blind indexes for exact lookups, masking for display, and a log filter.

* Encryption: Fernet (AES-128-CBC + HMAC-SHA256) through ``MultiFernet``. Keys come from
  ``settings.PII_ENCRYPTION_KEYS`` (env ``PII_ENCRYPTION_KEYS``, comma-separated): the first
  key encrypts, every key decrypts, so a key is rotated by putting the new key first, running
  ``reencrypt_queryset`` over the models, then dropping the old key (docs/security.md).
* Blind index: ``blind_index(kind, value)`` is HMAC-SHA256 over ``kind:normalised value`` with
  ``settings.PII_HMAC_KEY``; equal values give equal indexes, so blacklists and duplicate
  applications are found without decrypting anything. The HMAC key is never rotated lightly:
  changing it means recomputing every index.
* With neither setting (``make run``, tests) both keys derive from SECRET_KEY;
  production settings refuse to start without them.

Settings are read when first used, never at import time, and the derived objects are cached
per key set (``override_settings`` in tests just works).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute

__all__ = [
    "EncryptedTextField",
    "PIIDecryptionError",
    "PIIMaskingFilter",
    "Sealed",
    "blind_index",
    "decrypt",
    "encrypt",
    "mask_bank_account",
    "mask_device",
    "mask_id_number",
    "mask_mobile",
    "mask_text",
    "mask_value",
    "reencrypt_queryset",
    "rotate",
]


class PIIDecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key (wrong or missing key)."""


# --- keys ------------------------------------------------------------------------------------------
def _derived_key(label: str) -> bytes:
    return hashlib.sha256(f"creditfactory-pii:{label}:{settings.SECRET_KEY}".encode()).digest()


def _encryption_keys() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in getattr(settings, "PII_ENCRYPTION_KEYS", None) or () if k.strip())
    if keys:
        return keys
    return (base64.urlsafe_b64encode(_derived_key("fernet")).decode(),)


def _hmac_key() -> bytes:
    key = getattr(settings, "PII_HMAC_KEY", None) or ""
    return key.encode() if key else _derived_key("hmac")


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "PII_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each); "
            "generate one with cryptography.fernet.Fernet.generate_key()."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet(_encryption_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_encryption_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise PIIDecryptionError(
            "A protected value cannot be decrypted: PII_ENCRYPTION_KEYS lacks the key it was written with."
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first (current) key."""
    try:
        return _fernet(_encryption_keys()).rotate(token.encode()).decode()
    except InvalidToken:
        raise PIIDecryptionError("A protected value cannot be decrypted for rotation.") from None


# --- the model field -------------------------------------------------------------------------------
class Sealed:
    """A value read from the database and not decrypted yet (``RowReader`` builds instances with
    these): the field's attribute decrypts it on first read, and a save that never read it
    writes the stored token back unchanged."""

    __slots__ = ("token",)

    def __init__(self, token: str):
        self.token = token

    def __reduce__(self):
        return (Sealed, (self.token,))

    def __repr__(self) -> str:
        return "Sealed(…)"


class DecryptingAttribute(DeferredAttribute):
    """The attribute of an ``EncryptedTextField``: a ``Sealed`` value is decrypted on its first
    read and replaced by the plaintext. A data descriptor (it defines ``__set__``), so every read
    passes here; otherwise as Django's ``DeferredAttribute`` (a deferred column is loaded on
    first read)."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        data = instance.__dict__
        attname = self.field.attname
        if attname in data:
            value = data[attname]
            if type(value) is Sealed:
                value = data[attname] = decrypt(value.token)
            return value
        return super().__get__(instance, cls)

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Plaintext in Python, a Fernet token in the database. Empty strings stay empty.

    Lookups other than ``isnull`` are refused: every encryption of a value differs, so an
    equality test on ciphertext would silently find nothing. Query the blind-index column
    stored beside the field instead.

    A queryset decrypts as it reads (``from_db_value``). ``core.rows.RowReader``, which builds
    model instances only, reads with ``from_db_value_sealed`` instead: the instance holds the
    token until the attribute is first read (most reads on the hot paths never read it).
    """

    description = "Text encrypted at rest"
    descriptor_class = DecryptingAttribute

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def from_db_value_sealed(self, value, expression, connection):
        if value is None or value == "":
            return value
        return Sealed(value)

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        if type(value) is Sealed:
            return value  # never read: written back as stored
        return super().pre_save(model_instance, add)

    def get_prep_value(self, value):
        if type(value) is Sealed:
            return value.token
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


def reencrypt_queryset(queryset, fields: list[str], *, batch_size: int = 500) -> int:
    """Rewrite ``fields`` of every row with the current key (after putting a new key first in
    PII_ENCRYPTION_KEYS). Returns the number of rows rewritten; safe to run again."""
    count = 0
    for obj in queryset.only("pk", *fields).iterator(chunk_size=batch_size):
        # Reading decrypted with any key; saving encrypts with the first.
        obj.save(update_fields=fields)
        count += 1
    return count


# --- blind index -----------------------------------------------------------------------------------
_SEPARATORS = re.compile(r"[\s\-()]")


def _normalise(kind: str, value: str) -> str:
    text = _SEPARATORS.sub("", str(value)).upper()
    if kind == "mobile":
        for prefix in ("+86", "0086", "86"):
            if text.startswith(prefix) and len(text) == len(prefix) + 11:
                return text[len(prefix):]
    return text


def blind_index(kind: str, value: str) -> str:
    """HMAC-SHA256 (hex) of the normalised value; ``kind`` (id_number, mobile, bank_account,
    device) is part of the message so one value never matches across kinds."""
    message = f"{kind}:{_normalise(kind, value)}".encode()
    return hmac.new(_hmac_key(), message, hashlib.sha256).hexdigest()


# --- masking ---------------------------------------------------------------------------------------
def _mask(value: str, keep_start: int, keep_end: int) -> str:
    value = str(value or "")
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        # Too short to keep both ends: show only the last characters, at most half of them.
        keep = min(keep_end, len(value) // 2)
        return "*" * (len(value) - keep) + (value[-keep:] if keep else "")
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end:]


def mask_id_number(value: str) -> str:
    """'11010519491231002X' → '110105********002X' (region code and last four kept)."""
    return _mask(_normalise("id_number", value), 6, 4)


def mask_mobile(value: str) -> str:
    """'13800138000' → '138****8000'."""
    return _mask(_normalise("mobile", value), 3, 4)


def mask_bank_account(value: str) -> str:
    """'6222021234567890123' → '***************0123' (last four kept)."""
    return _mask(_normalise("bank_account", value), 0, 4)


def mask_device(value: str) -> str:
    """Device fingerprints: first and last four characters kept."""
    return _mask(str(value or "").strip(), 4, 4)


_MASKERS = {
    "id_number": mask_id_number,
    "mobile": mask_mobile,
    "bank_account": mask_bank_account,
    "device": mask_device,
}


def mask_value(kind: str, value: str) -> str:
    return _MASKERS[kind](value)


# --- logs ------------------------------------------------------------------------------------------
# 18-character (and legacy 15-digit) ID numbers, mainland mobiles with an optional +86, and
# 16-19 digit runs that look like bank cards. Digits either side break a match, so one number
# is never half-masked by the next pattern.
_LOG_PATTERNS = (
    (re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])"), r"\1********\2"),
    (re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{5}(\d{4})(?![0-9A-Za-z])"), r"\1*****\2"),
    # Not after a decimal point: "0.13911251565s" is a duration, not a mobile.
    (re.compile(r"(?<![\d.])((?:\+?86[ -]?)?1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),
    (re.compile(r"(?<![\d.])\d{12,15}(\d{4})(?!\d)"), r"****\1"),
)


# Every pattern above needs at least 11 digits in a row: text without such a run (most log
# records) is returned after one scan instead of four substitutions.
_CANDIDATE = re.compile(r"\d{11}")


def mask_text(text: str) -> str:
    """Mask every ID-number-, mobile- and card-like substring of free text."""
    if not _CANDIDATE.search(text):
        return text
    for pattern, replacement in _LOG_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class PIIMaskingFilter(logging.Filter):
    """Masks identifiers in a record's message (arguments merged in) and its exception text.
    Installed on the root handlers in settings, so every logger passes through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it for the handler to report
            return True
        masked = mask_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True
