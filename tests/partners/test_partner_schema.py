"""OpenAPI for the partner platform: the bearer scheme, the Idempotency-Key header, error
responses, and no generator warnings for these endpoints."""

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    patterns = [path("api/v1/", include(("creditfactory.partners.urls", "api"), namespace="api"))]
    document = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    warnings, errors = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    return document, warnings, errors


def test_the_platform_endpoints_generate_without_warnings(schema):
    _document, warnings, errors = schema
    assert (warnings, errors) == ({}, {})


def test_the_partner_key_is_a_bearer_security_scheme(schema):
    document, _w, _e = schema
    scheme = document["components"]["securitySchemes"]["PartnerKey"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "cfk_<43 characters>")
    for route, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"PartnerKey": []}], (method, route)


def test_idempotent_posts_document_the_header_and_their_errors(schema):
    document, _w, _e = schema
    create = document["paths"]["/api/v1/webhooks"]["post"]
    headers = [p for p in create["parameters"] if p["in"] == "header"]
    assert [(p["name"], p.get("required", False)) for p in headers] == [("Idempotency-Key", False)]
    assert set(create["responses"]) == {"201", "400", "401", "409", "422", "429"}
    assert create["responses"]["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "Idempotency-Key" not in str(document["paths"]["/api/v1/webhooks"]["get"].get("parameters", []))


def test_the_list_is_paginated_and_details_answer_404(schema):
    document, _w, _e = schema
    listing = document["paths"]["/api/v1/webhooks"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listing["schema"] == {"$ref": "#/components/schemas/PaginatedWebhookEndpointOutputList"}
    assert set(document["paths"]["/api/v1/webhooks/{id}"]["delete"]["responses"]) == {"204", "401", "404", "429"}
