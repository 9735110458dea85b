"""Partner API v1: changes to a granted credit line (额度变更).

``POST /api/v1/credit-lines/{id}/changes`` (``Idempotency-Key``) asks for an increase, a decrease,
a freeze, an unfreeze or a termination → 201 with the change: ``applied`` when the product's
approval node is off, else ``requested`` until an officer decides (``line.changed`` tells the
outcome). ``GET …/changes`` lists them, newest first. Another partner's line answers 404.

Errors: a malformed field → 400 naming it; a change the line's figures do not allow (a decrease
below what is drawn and held — with the figures —, an "increase" that is none) → 422 naming
``new_limit``; a change the line's status does not allow (unfreezing an active line, anything on
a terminated or expired one) → 409.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status as http
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from viewflow.workflow.exceptions import FlowLockFailed

from creditfactory.core.api.errors import Conflict, UnprocessableEntity, error_body
from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin
from creditfactory.partners.idempotency import idempotent
from creditfactory.partners.scoping import get_partner_object_or_404
from servicing.models import CreditLine, CreditLineChangeSource

from .selectors.line_changes import line_changes_for
from .serializers.line_changes import LineChangeInputSerializer, LineChangeOutputSerializer
from .services.line_changes import line_change_submit

__all__ = ["CreditLineChangeListApi"]

TAGS = ["credit lines"]


def _refused(exc: DjangoValidationError):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    if "status" in errors:
        return Conflict(error_body("line_state", _("The line's status does not allow this change."), errors))
    return UnprocessableEntity(error_body("change_refused", _("The line does not allow this change."), errors))


class CreditLineChangeListApi(PartnerApiMixin, GenericAPIView):
    """The changes of one of the partner's credit lines: list and request."""

    serializer_class = LineChangeOutputSerializer

    def _line(self, pk) -> CreditLine:
        return get_partner_object_or_404(CreditLine.objects.select_related("product_version__product"),
                                         self.request, pk=pk)

    @extend_schema(
        operation_id="credit_lines_changes_list",
        responses={200: LineChangeOutputSerializer(many=True), **error_responses(401, 404, 429)},
        tags=TAGS,
    )
    def get(self, request, pk):
        page = self.paginate_queryset(line_changes_for(self._line(pk)))
        return self.get_paginated_response(LineChangeOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="credit_lines_changes_create",
        request=LineChangeInputSerializer,
        responses={201: LineChangeOutputSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        examples=[OpenApiExample("Raise the limit", value={"kind": "increase", "new_limit": "60000.00",
                                                           "reason": "Customer's income rose"}, request_only=True)],
        tags=TAGS,
        description="Ask for a change of the line. `status` is `applied` when the product applies changes "
        "directly, else `requested` until an officer approves or rejects it (webhook `line.changed`). A "
        "decrease below what is drawn and held answers 422 naming `new_limit` with the figures; a change "
        "the line's status does not allow answers 409.",
    )
    @idempotent
    def post(self, request, pk):
        line = self._line(pk)
        serializer = LineChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            change = line_change_submit(line=line, kind=data["kind"], new_limit=data.get("new_limit"),
                                        reason=data["reason"], source=CreditLineChangeSource.PARTNER,
                                        partner=self.partner, actor_label=request.user.actor_label)
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        except FlowLockFailed:
            raise Conflict(error_body("line_busy", _("Another request is changing this line; retry shortly."))) \
                from None
        location = reverse("api:credit-line-changes", kwargs={"pk": line.pk})
        return Response(LineChangeOutputSerializer(change).data, status=http.HTTP_201_CREATED,
                        headers={"Location": location})
