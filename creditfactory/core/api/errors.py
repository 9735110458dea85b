"""One error format for the whole API.

Every error response body is ``{"code": str, "message": str, "errors": {field: [str, ...]}}``.
``errors`` names each offending field (nested fields joined with dots); it is empty when the
error is not about a field.
"""

import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class UnprocessableEntity(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"
    default_detail = _("The request cannot be processed.")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = _("The request conflicts with the current state.")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = _("The request body is too large.")


class TooManyFields(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "too_many_fields"
    default_detail = _("The request has too many fields or files.")


def request_error(exc: SuspiciousOperation) -> exceptions.APIException:
    """What Django refuses while reading a request body (its size and field limits) as the
    API's exception: 413 ``request_too_large``, 400 ``too_many_fields`` or 400 ``bad_request``.
    Logged like Django logs it (``django.security.<class>``), without the body."""
    logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(_("The request body is larger than %(limit)d bytes; send less at a time.")
                               % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    if isinstance(exc, TooManyFieldsSent):
        return TooManyFields(_("The request has more than %(limit)d fields.")
                             % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})
    if isinstance(exc, TooManyFilesSent):
        return TooManyFields(_("The request has more than %(limit)d files.")
                             % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES})
    return exceptions.ParseError(_("The request cannot be read."), code="bad_request")


def flatten_errors(detail, prefix="") -> dict[str, list[str]]:
    """DRF's nested error detail → {"applicant.id_number": ["..."]}."""
    result: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else "non_field_errors"
            path = f"{prefix}.{name}" if prefix else str(name)
            for sub_key, messages in flatten_errors(value, path).items():
                result.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list):
        if detail and all(not isinstance(item, (dict, list)) for item in detail):
            result.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                path = f"{prefix}.{index}" if prefix else str(index)
                for sub_key, messages in flatten_errors(item, path).items():
                    result.setdefault(sub_key, []).extend(messages)
    else:
        result.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return result


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "errors": errors or {}}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        exc = request_error(exc)

    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        body = error_body("invalid", _("The request has invalid fields."), errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(detail, dict) and {"code", "message"} <= set(detail):
            body = error_body(str(detail["code"]), detail["message"], flatten_errors(detail.get("errors", {})))
        else:
            codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
            code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
            body = error_body(code, detail if isinstance(detail, str) else str(detail))
    return Response(body, status=response.status_code, headers=_passthrough_headers(response))


def _passthrough_headers(response):
    return {key: value for key, value in response.items() if key in ("WWW-Authenticate", "Retry-After", "Allow")}


def validation_error(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


def error_response(status_code: int, code: str, message: str, errors: dict | None = None) -> Response:
    return Response(error_body(code, message, errors), status=status_code)


def api_not_found(request, *args, **kwargs):
    """Any path under /api/ that no endpoint matches (e.g. a malformed id): the API's 404 in the
    error format, never the back office's HTML page (nor a CSRF 403 for a POST: it changes nothing)."""
    from django.http import JsonResponse

    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


api_not_found.csrf_exempt = True
