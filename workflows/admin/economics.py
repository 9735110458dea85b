"""Admin of the unit economics configuration (单笔信贷结构核算): acquisition costs per channel or
partner, expected loss per grade (docs/economics.md)."""

from django.contrib import admin

from ..models import AcquisitionCost, CollectionContactCost, ExpectedLossRate


@admin.register(AcquisitionCost)
class AcquisitionCostAdmin(admin.ModelAdmin):
    list_display = ("__str__", "channel", "per_loan", "percent_of_principal", "note")
    list_select_related = ("partner",)
    autocomplete_fields = ("partner",)


@admin.register(ExpectedLossRate)
class ExpectedLossRateAdmin(admin.ModelAdmin):
    list_display = ("grade", "pd_percent", "lgd_percent")


@admin.register(CollectionContactCost)
class CollectionContactCostAdmin(admin.ModelAdmin):
    list_display = ("channel", "cost")
