"""Back-office forms of the officer's workbench. They parse input (the applicant through the risk
app's ``ApplicantInputSerializer``); the services decide, and their ``ValidationError``s are
put back on the fields they name."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from creditfactory.core import forms as core_forms
from creditfactory.organisations.scoping import visible_branches
from products.models import Purpose, RepaymentMethod
from products.selectors import active_products
from risk.models import Employment
from risk.serializers.applicants import ApplicantInputSerializer

from ..models import ApplicationStatus, ContractSigning, DocumentKind, PiiField
from .signing import apply_service_errors

__all__ = ["ApproveForm", "ClaimForm", "ContractAcceptanceForm", "DocumentForm", "NewApplicationForm", "ReassignForm", "RejectForm", "ResumeForm",
           "ReturnForm", "RevealForm", "SearchForm", "WithdrawForm", "apply_application_errors"]

APPLICANT_FIELDS = ("name", "id_number", "mobile", "monthly_income", "employment", "address", "employer_name",
                    "years_at_employer")
ENTERPRISE_FIELDS = {"enterprise_name": "name", "credit_code": "credit_code",
                     "years_in_business": "years_in_business", "annual_revenue": "annual_revenue"}


def apply_application_errors(form: forms.Form, exc: ValidationError) -> None:
    """Service errors → form fields: ``applicant.mobile`` → ``mobile``, ``enterprise.name`` →
    ``enterprise_name``, anything unknown → the form's own errors."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    reverse_enterprise = {service: name for name, service in ENTERPRISE_FIELDS.items()}
    aliases = {}
    for field in exc.error_dict:
        prefix, _dot, name = field.partition(".")
        if prefix == "applicant" and name:
            aliases[field] = name
        elif prefix == "enterprise" and name:
            aliases[field] = reverse_enterprise.get(name, "enterprise_name")
        elif field == "enterprise":
            aliases[field] = "enterprise_name"
        elif field in ("actor", "status", "task"):
            aliases[field] = None
    apply_service_errors(form, exc, aliases=aliases)


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Application number, applicant name, ID number or mobile"), max_length=64, required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *ApplicationStatus.choices])


class NewApplicationForm(forms.Form):
    """An officer enters an application (applicant + product + amount + term + method + purpose)."""

    product = forms.ModelChoiceField(label=_("Product"), queryset=None, to_field_name="code")
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None)
    amount = core_forms.DecimalField(label=_("Amount (CNY)"), max_digits=18, decimal_places=2, min_value=0)
    term = core_forms.IntegerField(label=_("Term"), min_value=1)
    repayment_method = forms.ChoiceField(label=_("Repayment method"), choices=RepaymentMethod.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    name = core_forms.NameField(label=_("Applicant name"), max_length=100)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=32)
    mobile = forms.CharField(label=_("Mobile"), max_length=32)
    monthly_income = core_forms.DecimalField(label=_("Monthly income (CNY)"), max_digits=18, decimal_places=2,
                                             min_value=0)
    employment = forms.ChoiceField(label=_("Employment"), choices=Employment.choices)
    address = core_forms.NameField(label=_("Address"), max_length=300)
    employer_name = core_forms.NameField(label=_("Employer"), max_length=200, required=False)
    years_at_employer = core_forms.IntegerField(label=_("Years at employer"), min_value=0, max_value=80,
                                                required=False)
    enterprise_name = core_forms.NameField(label=_("Enterprise (business loans)"), max_length=200, required=False)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=32, required=False)
    years_in_business = core_forms.IntegerField(label=_("Years in business"), min_value=0, max_value=200,
                                                required=False)
    annual_revenue = core_forms.DecimalField(label=_("Annual revenue (CNY)"), max_digits=18, decimal_places=2,
                                             min_value=0, required=False)
    consent_credit_report = forms.BooleanField(label=_("Consents to the credit report query (征信授权)"),
                                               required=False)
    consent_personal_information = forms.BooleanField(label=_("Consents to personal information processing"),
                                                      required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = active_products()
        self.fields["branch"].queryset = visible_branches(user).order_by("path")

    def clean(self):
        cleaned = super().clean()
        data = {name: self.data.get(name, "") for name in APPLICANT_FIELDS if self.data.get(name, "") != ""}
        serializer = ApplicantInputSerializer(data=data)
        if not serializer.is_valid():
            for field, messages in serializer.errors.items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, [str(m) for m in messages])
        else:
            cleaned["applicant"] = dict(serializer.validated_data)
        return cleaned

    def sections(self):
        """(title, bound fields) per part of the page."""
        loan = ("product", "branch", "amount", "term", "repayment_method", "purpose")
        enterprise = tuple(ENTERPRISE_FIELDS)
        consents = ("consent_credit_report", "consent_personal_information")
        return [(title, [self[name] for name in names]) for title, names in (
            (_("Loan"), loan), (_("Applicant"), APPLICANT_FIELDS),
            (_("Enterprise (business loans only)"), enterprise), (_("Consents"), consents))]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        enterprise = None
        if data.get("enterprise_name") or data.get("credit_code"):
            enterprise = {service: data.get(name) for name, service in ENTERPRISE_FIELDS.items()
                          if data.get(name) not in (None, "")}
        return dict(
            product=data["product"], branch=data["branch"], amount=data["amount"], term=data["term"],
            repayment_method=data["repayment_method"], purpose=data["purpose"], applicant=data["applicant"],
            enterprise=enterprise, channel="back_office",
            consents={"credit_report": data["consent_credit_report"],
                      "personal_information": data["consent_personal_information"]},
        )


class _Prefixed(forms.Form):
    prefix_name = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix=self.prefix_name, **kwargs)


class ClaimForm(_Prefixed):
    """No fields: the POST itself claims; errors are shown with the task."""

    prefix_name = "claim"


class ApproveForm(_Prefixed):
    prefix_name = "approve"
    note = core_forms.TextField(label=_("Opinion"), required=False, max_length=2000)
    conditions = core_forms.TextField(label=_("Conditions of approval"), required=False, max_length=2000,
                                      help_text=_("E.g. income proof before disbursement; shown to the approver."))
    request_approval = forms.BooleanField(label=_("Ask for an approver (审批) as well"), required=False)


class RejectForm(_Prefixed):
    prefix_name = "reject"
    reason = core_forms.TextField(label=_("Reason (internal)"), max_length=2000)
    customer_reason = core_forms.NameField(label=_("What the applicant is told"), max_length=300, required=False)


class ReturnForm(_Prefixed):
    prefix_name = "return"
    reason = core_forms.TextField(label=_("What is missing and why"), max_length=2000)
    documents = forms.MultipleChoiceField(label=_("Documents needed"), choices=DocumentKind.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple)


class ResumeForm(_Prefixed):
    prefix_name = "resume"
    note = core_forms.NameField(label=_("Note"), max_length=500, required=False)


class ContractAcceptanceForm(_Prefixed):
    """Staff record how the applicant of an application without a partner signed the contract."""

    prefix_name = "contract"
    signing = forms.ChoiceField(label=_("How the applicant signed"), choices=[
        (c.value, c.label) for c in (ContractSigning.BRANCH, ContractSigning.E_SIGNATURE,
                                     ContractSigning.REMOTE_SESSION)])
    reference = core_forms.NameField(label=_("Contract reference"), max_length=64, help_text=_(
        "The signed contract's number, the e-signature envelope or the signing session's reference."))
    note = core_forms.NameField(label=_("Note"), max_length=500, required=False)


class WithdrawForm(_Prefixed):
    prefix_name = "withdraw"
    reason = core_forms.NameField(label=_("Reason"), max_length=500)


class ReassignForm(_Prefixed):
    prefix_name = "reassign"
    to_user = forms.ModelChoiceField(label=_("Give the task to"), queryset=None)

    def __init__(self, *args, work_group=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True)
        self.fields["to_user"].queryset = (work_group.members.filter(is_active=True) if work_group is not None
                                           else users.none()).order_by("username")


class RevealForm(_Prefixed):
    prefix_name = "reveal"
    field = forms.ChoiceField(label=_("Identifier"), choices=PiiField.choices)
    reason = core_forms.NameField(label=_("Why you need to see it (recorded)"), max_length=500)


class DocumentForm(_Prefixed):
    prefix_name = "document"
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices)
    file = forms.FileField(label=_("File (PDF, JPEG, PNG)"))
    note = core_forms.NameField(label=_("Note"), max_length=255, required=False)
    resume = forms.BooleanField(label=_("All documents are here: send back to the reviewer"), required=False)
