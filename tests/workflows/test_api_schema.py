"""OpenAPI of the origination endpoints: generated without warnings, every operation behind the
partner key, Idempotency-Key on every POST, documented error responses, the consents and the
customer-facing decision in the components."""

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

ROUTES = {
    ("get", "/api/v1/applications"): {"200", "400", "401", "429"},
    ("post", "/api/v1/applications"): {"201", "400", "401", "409", "422", "429"},
    ("get", "/api/v1/applications/{id}"): {"200", "401", "404", "429"},
    ("post", "/api/v1/applications/{id}/withdraw"): {"200", "400", "401", "404", "409", "422", "429"},
    ("post", "/api/v1/applications/{id}/documents"): {"201", "400", "401", "404", "409", "415", "422", "429"},
    ("get", "/api/v1/applications/{id}/signing/slots"): {"200", "400", "401", "404", "409", "429"},
    ("post", "/api/v1/applications/{id}/signing"): {"201", "400", "401", "404", "409", "422", "429"},
    ("post", "/api/v1/applications/{id}/signing/reschedule"): {"200", "400", "401", "404", "409", "422", "429"},
    ("post", "/api/v1/applications/{id}/signing/cancel"): {"200", "400", "401", "404", "409", "422", "429"},
    ("post", "/api/v1/applications/{id}/contract/accept"): {"200", "400", "401", "404", "409", "422", "429"},
    ("get", "/api/v1/applications/{id}/credit-line"): {"200", "401", "404", "429"},
    ("get", "/api/v1/credit-lines/{id}"): {"200", "401", "404", "429"},
    ("post", "/api/v1/credit-lines/{id}/drawdowns"): {"201", "400", "401", "404", "409", "422", "429"},
    ("get", "/api/v1/drawdowns"): {"200", "400", "401", "429"},
    ("get", "/api/v1/drawdowns/{id}"): {"200", "401", "404", "429"},
    ("post", "/api/v1/drawdowns/{id}/cancel"): {"200", "400", "401", "404", "409", "429"},
    ("get", "/api/v1/credit-lines/{id}/changes"): {"200", "401", "404", "429"},
    ("post", "/api/v1/credit-lines/{id}/changes"): {"201", "400", "401", "404", "409", "422", "429"},
    ("get", "/api/v1/loans"): {"200", "400", "401", "429"},
    ("get", "/api/v1/loans/{id}"): {"200", "401", "404", "429"},
    ("get", "/api/v1/loans/{id}/quote"): {"200", "400", "401", "404", "409", "422", "429"},
    ("post", "/api/v1/loans/{id}/repayments"): {"201", "400", "401", "404", "409", "422", "429"},
    ("get", "/api/v1/loans/{id}/transactions"): {"200", "401", "404", "429"},
    ("get", "/api/v1/collection/cases"): {"200", "401", "404", "429"},
    ("get", "/api/v1/collection/cases/{id}"): {"200", "401", "404", "429"},
    ("post", "/api/v1/collection/cases/{id}/contacts"): {"201", "400", "401", "404", "409", "422", "429"},
}


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    patterns = [path("api/v1/", include(([path("", include("workflows.urls")), path("", include("servicing.urls")),
                                          path("", include("collection.urls"))],
                                         "api"), namespace="api"))]
    document = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    warnings, errors = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    return document, warnings, errors


def test_the_endpoints_generate_without_warnings(schema):
    _document, warnings, errors = schema
    assert (warnings, errors) == ({}, {})


def test_every_operation_is_described_with_its_errors_and_the_partner_key(schema):
    document, _w, _e = schema
    operations = {(method, route): operation for route, methods in document["paths"].items()
                  for method, operation in methods.items()
                  # public (calculator) or signed by the payment channel, not by a partner key
                  if route not in ("/api/v1/calculator/schedule", "/api/v1/payments/callback")}
    assert set(operations) == set(ROUTES)
    for key, operation in operations.items():
        assert set(operation["responses"]) == ROUTES[key], key
        assert operation["security"] == [{"PartnerKey": []}], key
        assert operation.get("description") and "Base for partner endpoints" not in operation["description"], key
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert headers == (["Idempotency-Key"] if key[0] == "post" else []), key


def test_the_create_body_and_the_application_resource(schema):
    document, _w, _e = schema
    components = document["components"]["schemas"]
    create = components["ApplicationCreateInputRequest"]
    assert create["required"] == ["amount", "applicant", "product", "purpose", "repayment_method", "term"]
    assert components["ConsentsRequest"]["required"] == ["credit_report", "personal_information"]
    assert create["properties"]["applicant"] == {"$ref": "#/components/schemas/ApplicantInputRequest"}
    output = components["ApplicationOutput"]["properties"]
    assert output["decision"]["allOf"] == [{"$ref": "#/components/schemas/DecisionSummary"}]
    assert output["decision"]["nullable"] is True
    assert set(components["DecisionSummary"]["properties"]) == {
        "outcome", "grade", "limit", "rate_percent", "rate_basis", "reasons", "decided_at"}
    assert set(components["ApplicantOutput"]["properties"]) >= {"id_number_masked", "mobile_masked"}
    assert "id_number" not in components["ApplicantOutput"]["properties"]
    documents = document["paths"]["/api/v1/applications/{id}/documents"]["post"]["requestBody"]["content"]
    assert list(documents) == ["multipart/form-data"]
    listing = document["paths"]["/api/v1/applications"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "status", "product", "created_from", "created_to", "external_reference", "limit", "offset"}
