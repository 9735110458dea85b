"""What the credit flow asks risk to decide: the ``risk.requests.AssessmentRequest`` of an
application. Risk reads nothing of the application itself; this is the one place that says which
of its fields a decision is taken on."""

from __future__ import annotations

from products.selectors import published_version
from risk.requests import AssessmentRequest

from ..fastpath import ASSESSED_APPLICATION
from ..models import CreditApplication

__all__ = ["assessment_request", "assessment_request_for"]


def assessment_request(application: CreditApplication) -> AssessmentRequest:
    """The request of ``application`` as it is (its applicant, enterprise and product version as
    loaded or cached on it)."""
    return AssessmentRequest(
        application_id=application.pk, product_version=application.product_version, applicant=application.applicant,
        enterprise=application.enterprise, amount=application.amount, term=application.term,
        term_unit=application.term_unit, method=application.repayment_method, purpose=application.purpose,
        channel=application.channel, device_id=application.device_id, created_at=application.created_at,
    )


def assessment_request_for(*, application_id: int) -> AssessmentRequest:
    """The request of the stored application ``application_id``, read for its assessment job: the
    application with its applicant and enterprise in one prebuilt statement, its product version
    from the per-process cache of published versions (immutable)."""
    application = ASSESSED_APPLICATION.get(application_id)
    if application is None:
        raise CreditApplication.DoesNotExist(f"credit application {application_id} does not exist")
    application.product_version = published_version(application.product_version_id)
    return assessment_request(application)
