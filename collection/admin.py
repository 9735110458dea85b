"""Django admin of the collections app: the configuration a lender edits (buckets, strategies
published as immutable versions, classification thresholds, the compliance policy, agencies,
emergency contacts) and read-only views of what the close and the collectors wrote."""

from django.contrib import admin

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from risk.admin.versioning import PublishedVersionAdmin, VersionedAdmin

from .models import (
    Agency, AgencyAssignment, Bucket, CaseStageChange, ClassificationThreshold, CollectionCase, CollectionStrategy,
    ComplianceRefusal, CompliancePolicy, Contact, EmergencyContact, FieldVisit, HardshipHold, LegalReferral, Promise,
    StrategyAction, StrategyStep, StrategyVersion,
)
from .services.strategies import strategy_publish


@admin.register(Bucket)
class BucketAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "min_dpd", "max_dpd")


@admin.register(ClassificationThreshold)
class ClassificationThresholdAdmin(admin.ModelAdmin):
    list_display = ("classification", "min_dpd")


@admin.register(CompliancePolicy)
class CompliancePolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "timezone", "contact_from", "contact_until", "max_contacts_per_day", "hardship_days",
                    "workbench_priority")

    def has_add_permission(self, request):
        return not CompliancePolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "partner", "commission_percent", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    autocomplete_fields = ("partner",)


class StrategyActionInline(admin.TabularInline):
    model = StrategyAction
    extra = 0
    fields = ("bucket", "from_dpd", "order", "kind", "template", "work_group", "agency", "commission_percent",
              "cadence_days")


@admin.register(CollectionStrategy)
class CollectionStrategyAdmin(VersionedAdmin):
    publish = staticmethod(strategy_publish)
    publish_kwarg = "strategy"
    definition_prefetch = ("actions__bucket", "actions__agency")
    list_display = ("code", "name", "product", "version_number", "unpublished_changes", "updated_at")
    fields = ("code", "name", "product", "description", "current_version_link", "unpublished_changes")
    inlines = [StrategyActionInline]


class StrategyStepInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StrategyStep
    extra = 0
    fields = ("seq", "bucket", "from_dpd", "kind", "template", "work_group", "agency", "commission_percent",
              "cadence_days")


@admin.register(StrategyVersion)
class StrategyVersionAdmin(PublishedVersionAdmin):
    inlines = [StrategyStepInline]


@admin.register(EmergencyContact)
class EmergencyContactAdmin(admin.ModelAdmin):
    list_display = ("applicant", "name", "relation", "mobile_masked")
    fields = ("applicant", "name", "relation", "mobile")
    raw_id_fields = ("applicant",)

    def get_fields(self, request, obj=None):
        return ("applicant", "name", "relation", "mobile_masked") if obj else self.fields

    def get_readonly_fields(self, request, obj=None):
        # Once stored the mobile is shown masked only.
        return ("mobile_masked",) if obj else ()


class StageChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseStageChange
    extra = 0
    fields = ("business_date", "from_bucket", "to_bucket", "from_step", "to_step", "dpd")


class AssignmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AgencyAssignment
    extra = 0
    fields = ("agency", "commission_percent", "start", "end")


@admin.register(CollectionCase)
class CollectionCaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "loan", "status", "bucket", "step", "opened_on", "closed_on", "close_reason",
                    "work_group", "collector", "agency")
    list_filter = ("status", "bucket", "close_reason", "agency")
    search_fields = ("loan__number",)
    list_select_related = ("loan", "work_group", "collector", "agency")
    inlines = [StageChangeInline, AssignmentInline]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("case", "at", "channel", "party", "result", "collector", "agency")
    list_filter = ("channel", "party", "result")
    list_select_related = ("case", "collector", "agency")


@admin.register(Promise)
class PromiseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("case", "amount", "made_on", "due_on", "status", "paid")
    list_filter = ("status",)
    list_select_related = ("case",)


@admin.register(HardshipHold)
class HardshipHoldAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("case", "status", "start", "end", "requested_by", "decided_by")
    list_filter = ("status",)
    list_select_related = ("case", "requested_by", "decided_by")


@admin.register(ComplianceRefusal)
class ComplianceRefusalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("case", "at", "rule", "channel", "party", "collector", "agency")
    list_filter = ("rule", "channel")
    list_select_related = ("case", "collector", "agency")



@admin.register(FieldVisit)
class FieldVisitAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("case", "result", "bucket", "contact")
    list_filter = ("result", "bucket")
    list_select_related = ("case", "contact")


@admin.register(LegalReferral)
class LegalReferralAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("case", "status", "bucket", "owed", "requested_on", "requested_by", "decided_by", "decided_on")
    list_filter = ("status", "bucket")
    list_select_related = ("case", "requested_by", "decided_by")
