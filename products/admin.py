from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _, ngettext
from simple_history.admin import SimpleHistoryAdmin

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.core.texts import stored_text

from . import services
from .forms import LoanProductForm
from .models import LoanProduct, ProductTerms, ProductVersion

# Grouped like the six product elements (产品要素), then conditions and pricing guards.
PRODUCT_FIELDSETS = (
    (_("1 · Product type (产品类型)"), {"fields": ("name", "product_type", "description")}),
    (_("2 · Amount (额度)"), {"fields": (("amount_min", "amount_max"),)}),
    (_("3 · Term (期限)"), {"fields": ("term_unit", ("term_min", "term_max"))}),
    (_("4 · Rate (利率)"), {
        "fields": ("rate_basis", ("rate_min_percent", "rate_default_percent", "rate_max_percent"), "day_count",
                   "penalty_rate_multiplier", "apr_cap_percent"),
    }),
    (_("5 · Repayment method and fees (还款方式)"), {
        "fields": ("repayment_methods", "interest_every_months", "grace_days", "upfront_fee_percent",
                   ("prepayment_allowed", "prepayment_fee_percent")),
    }),
    (_("Servicing (贷后)"), {
        "fields": (("allocation_order", "allocation_mode"), "prepayment_recompute", "penalty_compound",
                   "collection_retry_days", ("write_off_dpd", "write_off_repropose_days")),
    }),
    (_("6 · Purpose (贷款用途)"), {"fields": ("purposes",)}),
    (_("Conditions"), {"fields": (("age_min", "age_max"), "line_validity_months")}),
    (_("Credit line and drawdowns (额度与借款)"), {
        "fields": ("line_revolving", "drawdown_review_above", "drawdown_review_purposes"),
    }),
)


@admin.register(LoanProduct)
class LoanProductAdmin(SimpleHistoryAdmin):
    form = LoanProductForm
    list_display = ("code", "name", "product_type", "status", "current_version_number", "amount_min", "amount_max",
                    "rate_basis", "rate_min_percent", "rate_max_percent", "updated_at")
    list_filter = ("status", "product_type", "rate_basis", "term_unit")
    search_fields = ("code", "name", "description")
    readonly_fields = ("status", "current_version")
    actions = ["publish_selected", "retire_selected"]
    list_select_related = ("current_version",)

    def get_fieldsets(self, request, obj=None):
        head = (None, {"fields": ("code", "status", "current_version") if obj else ("code",)})
        return (head, *PRODUCT_FIELDSETS)

    def get_readonly_fields(self, request, obj=None):
        # The code identifies the product to partners; it does not change once created.
        return (*self.readonly_fields, "code") if obj else self.readonly_fields

    @admin.display(description=_("version"), ordering="current_version__version")
    def current_version_number(self, obj):
        return obj.current_version.version if obj.current_version_id else "—"

    def save_model(self, request, obj, form, change):
        services.product_save_from_admin(product=obj, actor=request.user)

    def _can_publish(self, request):
        return request.user.has_perm("products.publish_loanproduct")

    @admin.action(description=_("Publish selected products (new immutable version)"))
    def publish_selected(self, request, queryset):
        if not self._can_publish(request):
            self.message_user(request, _("You may not publish products."), messages.ERROR)
            return
        published = 0
        for product in queryset:
            try:
                version = services.product_publish(product=product, actor=request.user)
                published += 1
                self.message_user(request, _("%(code)s published as version %(version)s.")
                                  % {"code": product.code, "version": version.version})
            except ValidationError as exc:
                self.message_user(request, _("%(code)s not published: %(errors)s")
                                  % {"code": product.code, "errors": "; ".join(exc.messages)}, messages.ERROR)
        if not published:
            self.message_user(request, _("Nothing was published."), messages.WARNING)

    @admin.action(description=_("Retire selected products (no new originations)"))
    def retire_selected(self, request, queryset):
        if not self._can_publish(request):
            self.message_user(request, _("You may not retire products."), messages.ERROR)
            return
        retired = 0
        for product in queryset:
            try:
                services.product_retire(product=product, actor=request.user, reason=stored_text(_("Retired in admin")))
                retired += 1
            except Exception as exc:  # noqa: BLE001 - reported to the admin user
                self.message_user(request, f"{product.code}: {exc}", messages.ERROR)
        if retired:
            self.message_user(request, ngettext("%d product retired.", "%d products retired.", retired) % retired)


@admin.register(ProductVersion)
class ProductVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Published versions are immutable: view only."""

    list_display = ("product", "version", "name", "published_at", "published_by", "rate_min_percent",
                    "rate_max_percent")
    list_filter = ("product",)
    search_fields = ("product__code", "name")
    list_select_related = ("product", "published_by")
    readonly_fields = ("product", "version", "published_at", "published_by", *ProductTerms.term_field_names())
