"""OpenAPI components shared by every endpoint."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "code": serializers.CharField(help_text="Machine-readable error code, e.g. 'invalid', 'not_found'."),
        "message": serializers.CharField(help_text="Human-readable summary in the request's language."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Messages per offending field; nested fields are joined with dots.",
        ),
    },
)


def error_responses(*codes: int) -> dict:
    descriptions = {
        400: "Invalid input; `errors` names each field.",
        401: "Missing or invalid credentials.",
        403: "Not allowed.",
        404: "Not found (or not yours).",
        409: "Conflict, e.g. a concurrent request with the same Idempotency-Key.",
        422: "Unprocessable, e.g. an Idempotency-Key reused with another body.",
        429: "Too many requests.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions.get(code, "")) for code in codes}
