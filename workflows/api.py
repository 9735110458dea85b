"""Partner API v1 of origination: applications, their documents, remote signing, the contract
and the granted credit line. Thin: validate with an input serializer, scope to the calling
partner, call one service, answer with an output serializer.

* Every URL takes the application's ``id`` (its primary key). It is sequential, hence
  guessable; that is acceptable only because every lookup is scoped to the calling partner
  (``get_partner_object_or_404``): another partner's id answers 404 exactly like an id that
  does not exist (``tests/workflows/test_api_scoping.py`` checks every route).
* Every POST is ``@idempotent`` (``Idempotency-Key``), not only the creating ones: a retried
  withdraw or acceptance replays its first answer instead of failing on the changed state.
* Errors: a field the request got wrong → 400 naming it; a request the application's state
  does not allow now (wrong status, no appointment, a full slot, another request moving the
  same application) → 409; the format is ``creditfactory.core.api.errors``.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status as http
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from viewflow.workflow.exceptions import FlowLockFailed

from creditfactory.core.api.errors import Conflict, error_body
from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin
from creditfactory.partners.idempotency import idempotent
from creditfactory.partners.scoping import get_partner_object_or_404, scope_to_partner
from servicing.api import CreditLineOutputSerializer

from .flows import CreditApplicationFlow
from .models import Channel, CreditApplication, SigningChannel
from .selectors import partner_api as selectors
from .selectors.signing import signing_free_slots
from .serializers.applications import (
    ApplicationCreateInputSerializer,
    ApplicationDocumentCreatedSerializer,
    ApplicationDocumentInputSerializer,
    ApplicationListQuerySerializer,
    ApplicationOutputSerializer,
    ApplicationWithdrawInputSerializer,
    application_representation,
)
from .serializers.signing import (
    SigningAppointmentSerializer,
    SigningBookInputSerializer,
    SigningCancelInputSerializer,
    SigningFreeSlotQuerySerializer,
    SigningFreeSlotSerializer,
    SigningRescheduleInputSerializer,
)
from .services import applications as services
from .services import signing as signing_services
from .selectors.flow import node_enabled

__all__ = [
    "ApplicationContractAcceptApi", "ApplicationCreditLineApi", "ApplicationDetailApi", "ApplicationDocumentApi",
    "ApplicationListApi", "ApplicationSigningApi", "ApplicationSigningCancelApi", "ApplicationSigningRescheduleApi",
    "ApplicationSigningSlotsApi", "ApplicationWithdrawApi",
]

TAGS = ["applications"]
SIGNING_TAGS = ["signing"]
# Service error codes that mean "not in this state", answered 409 rather than 400.
STATE_CODES = frozenset({"closed", "already_booked", "illegal_transition", "slot_full", "no_schedule", "inactive"})
STATE_FIELDS = frozenset({"status"})

EXAMPLE_CREATE = {
    "product": "EDUCATION", "amount": "20000.00", "term": 12, "term_unit": "months",
    "repayment_method": "equal_installment", "purpose": "education",
    "applicant": {"name": "张三", "id_number": "110105199005201236", "mobile": "13812345678",
                  "monthly_income": "10000.00", "employment": "employed", "address": "北京市朝阳区建国路 1 号"},
    "consents": {"credit_report": True, "personal_information": True},
    "external_reference": "ACME-2026-000123",
}


def _is_state_error(exc: DjangoValidationError) -> bool:
    if not hasattr(exc, "error_dict"):
        return False
    if set(exc.error_dict) <= STATE_FIELDS:
        return True
    return any(error.code in STATE_CODES for errors in exc.error_dict.values() for error in errors)


def _conflict(code: str, message: str, errors: dict | None = None) -> Conflict:
    return Conflict(error_body(code, message, errors))


@contextmanager
def service_errors():
    """Translate what the services raise into the API's answers (see the module docstring)."""
    try:
        yield
    except FlowLockFailed:
        raise _conflict("application_busy",
                        _("Another request is moving this application right now; retry shortly.")) from None
    except DjangoValidationError as exc:
        if _is_state_error(exc):
            code = next((e.code for errors in exc.error_dict.values() for e in errors if e.code in STATE_CODES),
                        "conflict")
            raise _conflict(code, _("The application's state does not allow this now."), exc.message_dict) from None
        raise


def _application_queryset():
    return selectors.api_application_queryset()


def _get_application(request, pk):
    """The caller's application with everything its representation reads (for GETs)."""
    return get_partner_object_or_404(_application_queryset(), request, pk=pk)


def _get_for_change(request, pk):
    """The caller's application for a write: the services lock and reload it; the answer is read
    afresh afterwards."""
    return get_partner_object_or_404(CreditApplication.objects.select_related("process"), request, pk=pk)


def _reload(application):
    """The application again, with everything its representation reads (after a service moved it)."""
    return _application_queryset().get(pk=application.pk)


def _represent(application) -> dict:
    return ApplicationOutputSerializer(_reload(application)).data


def _represent_created(application) -> dict:
    """The answer to a create. A new application has no signing appointment, no document and no
    credit line yet.

    While the request's transaction is still open (the Idempotency-Key's, which stores this answer
    with the application), nothing else can have seen or moved the application — the assessment
    is queued on commit — so the service's own instance, with its applicant, enterprise and
    product version, is exactly what the database holds, no decision exists and the flow waits
    at the node after its start: nothing is read. Otherwise (no key: the create has committed and an eager or fast worker may
    have decided it already) the application is read again."""
    if connection.in_atomic_block:
        fresh = application
        fresh.api_current_decisions = []
        CreditApplication._meta.get_field("credit_line").set_cached_value(fresh, None)
        # A flow started in this transaction waits at its start's next node (the assessment job).
        fresh.api_known_node = CreditApplicationFlow.start._next.name if fresh.process_id else ""
    else:
        # Row, decision, current node: three queries instead of the list's six.
        fresh = (CreditApplication.objects.select_related("applicant", "enterprise", "product_version__product",
                                                          "credit_line")
                 .get(pk=application.pk))
    fresh.api_appointments, fresh.api_documents = [], []
    return application_representation(fresh)


def _actor(request) -> dict:
    return {"actor": None, "actor_label": request.user.actor_label}


# --- applications ----------------------------------------------------------------------------------


class ApplicationListApi(PartnerApiMixin, GenericAPIView):
    """The partner's applications: list (filtered, paginated) and create."""

    serializer_class = ApplicationOutputSerializer

    def get_queryset(self):
        return scope_to_partner(_application_queryset(), self.request)

    @extend_schema(
        operation_id="applications_list",
        parameters=[ApplicationListQuerySerializer],
        responses={200: ApplicationOutputSerializer(many=True), **error_responses(400, 401, 429)},
        tags=TAGS,
    )
    def get(self, request):
        query = ApplicationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.api_application_filter(self.get_queryset(), **query.filters())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ApplicationOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="applications_create",
        request=ApplicationCreateInputSerializer,
        responses={201: ApplicationOutputSerializer, **error_responses(400, 401, 409, 422, 429)},
        examples=[OpenApiExample("An education loan", value=EXAMPLE_CREATE, request_only=True)],
        tags=TAGS,
        description="Create an application and start its credit flow. The automated assessment runs in the "
        "background: `status` is `submitted` and `decision` null in this answer; poll the application or "
        "subscribe to `application.decided`. Missing or false consents answer 400 naming "
        "`consents.credit_report` / `consents.personal_information`.",
    )
    @idempotent
    def post(self, request):
        serializer = ApplicationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with service_errors():
                application = services.application_create(
                    **serializer.service_kwargs(), channel=Channel.API, partner=self.partner, **_actor(request))
        except IntegrityError:
            # Two requests with the same external_reference at the same moment: one wins.
            raise _conflict("conflict", _("An application with this reference exists already."),
                            {"external_reference": [_("An application with this reference exists already.")]}) \
                from None
        location = reverse("api:application-detail", kwargs={"pk": application.pk})
        return Response(_represent_created(application), status=http.HTTP_201_CREATED, headers={"Location": location})


class ApplicationDetailApi(PartnerApiMixin, APIView):
    """One application of the partner: status, current node, the decision with customer-facing reasons, amounts,
    the masked applicant, documents, signing and credit line."""

    @extend_schema(
        operation_id="applications_retrieve",
        responses={200: ApplicationOutputSerializer, **error_responses(401, 404, 429)},
        tags=TAGS,
    )
    def get(self, request, pk):
        return Response(ApplicationOutputSerializer(_get_application(request, pk)).data)


class ApplicationWithdrawApi(PartnerApiMixin, APIView):
    """The applicant withdraws the application."""

    @extend_schema(
        operation_id="applications_withdraw",
        request=ApplicationWithdrawInputSerializer,
        responses={200: ApplicationOutputSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        tags=TAGS,
        description="Withdraw the application: its flow is cancelled and a booked signing slot freed. 409 once "
        "it is approved, rejected or withdrawn.",
    )
    @idempotent
    def post(self, request, pk):
        application = _get_for_change(request, pk)
        serializer = ApplicationWithdrawInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            services.application_withdraw(application=application, reason=serializer.validated_data["reason"],
                                          **_actor(request))
        return Response(_represent(application))


class ApplicationDocumentApi(PartnerApiMixin, APIView):
    """Upload a document of the application (multipart)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="applications_documents_create",
        request={"multipart/form-data": ApplicationDocumentInputSerializer},
        responses={201: ApplicationDocumentCreatedSerializer, **error_responses(400, 401, 404, 409, 415, 422, 429)},
        tags=TAGS,
        description="Upload a document (multipart). For an application returned for documents, the upload "
        "sends it back to the step that asked once every requested kind has arrived (or at once with "
        "`resume=true`; never with `resume=false`).",
    )
    @idempotent
    def post(self, request, pk):
        application = _get_for_change(request, pk)
        serializer = ApplicationDocumentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors():
            document = services.application_add_document(
                application=application, file=data["file"], kind=data["kind"], note=data["note"], **_actor(request))
            # "When appropriate": asked explicitly, or every requested kind is in.
            outstanding = selectors.api_documents_outstanding(application)
            if outstanding is not None and (data["resume"] or (data["resume"] is None and not outstanding)):
                services.application_resume_after_documents(application=application, **_actor(request))
        body = ApplicationDocumentCreatedSerializer(
            {"document": document, "application": _reload(application)}).data
        return Response(body, status=http.HTTP_201_CREATED)


class ApplicationContractAcceptApi(PartnerApiMixin, APIView):
    """The applicant accepts the contract."""

    @extend_schema(
        operation_id="applications_contract_accept",
        request=None,
        responses={200: ApplicationOutputSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        tags=TAGS,
        description="The applicant accepted the contract: the credit line is granted (`credit_line` in the "
        "answer, webhook `line.granted`) and the application is approved. 409 unless the status is `contract`.",
    )
    @idempotent
    def post(self, request, pk):
        application = _get_for_change(request, pk)
        with service_errors():
            services.application_accept_contract(application=application, **_actor(request))
        return Response(_represent(application))


class ApplicationCreditLineApi(PartnerApiMixin, APIView):
    """The credit line granted for the application."""

    @extend_schema(
        operation_id="applications_credit_line_retrieve",
        responses={200: CreditLineOutputSerializer, **error_responses(401, 404, 429)},
        tags=TAGS,
        description="The credit line granted for this application; 404 (code `no_credit_line`) while there is "
        "none.",
    )
    def get(self, request, pk):
        application = get_partner_object_or_404(
            CreditApplication.objects.select_related("credit_line__product_version__product"), request, pk=pk)
        line = getattr(application, "credit_line", None)
        if line is None:
            return Response(error_body("no_credit_line", _("No credit line has been granted for this application.")),
                            status=http.HTTP_404_NOT_FOUND)
        return Response(CreditLineOutputSerializer(line).data)


# --- remote signing --------------------------------------------------------------------------------


def _active_appointment(application):
    appointment = selectors.api_active_appointment(application)
    if appointment is None:
        raise _conflict("no_appointment", _("The application has no active signing appointment."))
    return appointment


class ApplicationSigningSlotsApi(PartnerApiMixin, APIView):
    """Free remote-signing slots for the application."""

    @extend_schema(
        operation_id="applications_signing_slots_list",
        parameters=[SigningFreeSlotQuerySerializer],
        responses={200: SigningFreeSlotSerializer(many=True), **error_responses(400, 401, 404, 409, 429)},
        tags=SIGNING_TAGS,
        description="Free remote-signing slots for this application (default: the coming 7 days, at most 62). "
        "409 when no signing schedule applies.",
    )
    def get(self, request, pk):
        application = get_partner_object_or_404(CreditApplication.objects.select_related("branch"), request, pk=pk)
        query = SigningFreeSlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        with service_errors():
            slots = signing_free_slots(application=application, **query.validated_data)
        return Response(SigningFreeSlotSerializer(slots, many=True).data)


class ApplicationSigningApi(PartnerApiMixin, APIView):
    """Book a remote-signing slot for the application."""

    @extend_schema(
        operation_id="applications_signing_book",
        request=SigningBookInputSerializer,
        responses={201: SigningAppointmentSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        tags=SIGNING_TAGS,
        description="Book a free slot. 400 names `slot_start` (past, too soon, too far, holiday, not a slot); "
        "409 when the slot is full (`slot_full`), the application already has an appointment, is closed, "
        "or its product needs no remote signing.",
    )
    @idempotent
    def post(self, request, pk):
        application = _get_for_change(request, pk)
        serializer = SigningBookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not (application.process_id and node_enabled(application.process, node="signing")):
            raise _conflict("signing_not_required", _("This application needs no remote signing."))
        with service_errors():
            appointment = signing_services.signing_book(
                application=application, slot_start=serializer.validated_data["slot_start"],
                channel=SigningChannel.API, **_actor(request))
        return Response(SigningAppointmentSerializer(appointment).data, status=http.HTTP_201_CREATED)


class ApplicationSigningRescheduleApi(PartnerApiMixin, APIView):
    """Move the application's active signing appointment to another free slot (the old place is freed)."""

    @extend_schema(
        operation_id="applications_signing_reschedule",
        request=SigningRescheduleInputSerializer,
        responses={200: SigningAppointmentSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        tags=SIGNING_TAGS,
    )
    @idempotent
    def post(self, request, pk):
        application = _get_for_change(request, pk)
        serializer = SigningRescheduleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            appointment = signing_services.signing_reschedule(
                appointment=_active_appointment(application), **serializer.validated_data, **_actor(request))
        return Response(SigningAppointmentSerializer(appointment).data)


class ApplicationSigningCancelApi(PartnerApiMixin, APIView):
    """Cancel the application's active signing appointment; the place is freed."""

    @extend_schema(
        operation_id="applications_signing_cancel",
        request=SigningCancelInputSerializer,
        responses={200: SigningAppointmentSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        tags=SIGNING_TAGS,
    )
    @idempotent
    def post(self, request, pk):
        application = _get_for_change(request, pk)
        serializer = SigningCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            appointment = signing_services.signing_cancel(
                appointment=_active_appointment(application), reason=serializer.validated_data["reason"],
                **_actor(request))
        return Response(SigningAppointmentSerializer(appointment).data)
