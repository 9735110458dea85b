"""Admin: applicants and enterprises.

Identifiers are shown masked; the change form has no field holding a plaintext identifier.
Searching by an exact ID number, mobile or bank account goes through the blind index. Staff
with ``risk.reveal_applicant_pii`` can deliberately reveal the plaintext (a POST, recorded in
the admin log).
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _

from risk.models import Applicant, Enterprise
from risk.selectors import identifier_indexes
from risk.validators import parse_credit_code


@admin.register(Applicant)
class ApplicantAdmin(admin.ModelAdmin):
    list_display = ("name", "id_number_masked", "mobile_masked", "sex", "province", "employment", "monthly_income",
                    "created_at")
    list_filter = ("employment", "sex", "province")
    search_fields = ("name",)
    search_help_text = _("Name, or an exact ID number, mobile or bank account number.")
    fieldsets = (
        (_("Identifiers (masked)"), {"fields": ("name", "id_number_masked", "mobile_masked", "bank_account_masked",
                                                "reveal_link")}),
        (_("From the ID number"), {"fields": ("birth_date", "sex", "province")}),
        (_("Declared"), {"fields": ("employment", "employer_name", "years_at_employer", "monthly_income",
                                    "address")}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = ("id_number_masked", "mobile_masked", "bank_account_masked", "reveal_link", "birth_date", "sex",
                       "province", "created_at", "updated_at")

    def has_add_permission(self, request):
        # Applicants arrive with an application, through the validating service.
        return False

    def get_search_results(self, request, queryset, search_term):
        indexes = identifier_indexes(search_term)
        if indexes:
            lookups = {"id_number": "id_number_index", "mobile": "mobile_index", "bank_account": "bank_account_index"}
            matches = queryset.none()
            for kind, index in indexes.items():
                matches |= queryset.filter(**{lookups[kind]: index})
            return matches, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("unmasked values"))
    def reveal_link(self, obj):
        if obj.pk is None:
            return "—"
        url = reverse("admin:risk_applicant_reveal", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Reveal (recorded)…"))

    def get_urls(self):
        reveal = path("<int:object_id>/reveal/", self.admin_site.admin_view(self.reveal_view),
                      name="risk_applicant_reveal")
        return [reveal, *super().get_urls()]

    def reveal_view(self, request, object_id):
        """Shows the plaintext identifiers after a deliberate confirmation; logged."""
        if not request.user.has_perm("risk.reveal_applicant_pii"):
            raise PermissionDenied
        applicant = get_object_or_404(Applicant, pk=object_id)
        revealed = None
        if request.method == "POST":
            LogEntry.objects.log_actions(
                user_id=request.user.pk, queryset=[applicant], action_flag=CHANGE,
                change_message=gettext("Revealed the unmasked identifiers."), single_object=True,
            )
            revealed = {
                "id_number": applicant.id_number, "mobile": applicant.mobile, "bank_account": applicant.bank_account,
            }
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reveal identifiers of %(name)s") % {"name": applicant},
            "opts": self.model._meta,
            "original": applicant,
            "revealed": revealed,
        }
        return TemplateResponse(request, "admin/risk/applicant/reveal.html", context)


class EnterpriseForm(forms.ModelForm):
    class Meta:
        model = Enterprise
        fields = ["name", "credit_code", "years_in_business", "annual_revenue", "legal_representative"]

    def clean_credit_code(self):
        try:
            return parse_credit_code(self.cleaned_data["credit_code"]).code
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    form = EnterpriseForm
    list_display = ("name", "credit_code", "years_in_business", "annual_revenue", "legal_representative")
    list_select_related = ("legal_representative",)
    search_fields = ("name", "credit_code")
    raw_id_fields = ("legal_representative",)
