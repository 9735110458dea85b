"""Admin: rule sets with their rules inline, publishing, a "test this rule set" page, and the
read-only published versions. Saving a rule validates its expression against the feature
catalogue; the error shows on the rule's expression field."""

import json
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy as _

from creditfactory.organisations.scoping import scope_queryset
from risk.catalogue import CATALOGUE
from risk.features import FeatureSnapshot
from risk.models import Decision, DecisionStatus, Rule, RuleSet, RuleSetVersion
from risk.rules import SAMPLE_FEATURES, ExpressionError, RuleSetSpec, evaluate_rule_set, feature_context
from risk.services.policies import rule_set_publish

from .versioning import PublishedVersionAdmin, VersionedAdmin


class RuleInline(admin.StackedInline):
    model = Rule
    extra = 0
    fields = (("code", "priority", "active"), "expression", ("outcome", "reason_code", "warning_action"),
              ("customer_reason_zh", "customer_reason_en"), "description")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "expression":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 100, "style": "font-family: monospace"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(RuleSet)
class RuleSetAdmin(VersionedAdmin):
    publish = staticmethod(rule_set_publish)
    publish_kwarg = "rule_set"
    definition_prefetch = ("rules",)
    list_display = ("code", "name", "stage", "version_number", "unpublished_changes", "updated_at")
    list_filter = ("stage",)
    fields = ("code", "name", "stage", "description", "current_version_link", "unpublished_changes")
    inlines = [RuleInline]

    def get_urls(self):
        return [path("<int:pk>/test/", self.admin_site.admin_view(self.test_view), name="risk_ruleset_test"),
                *super().get_urls()]

    def extra_tools(self, request, obj):
        return [(gettext("Test this rule set"), reverse("admin:risk_ruleset_test", args=[obj.pk]))]

    def test_view(self, request, pk):
        rule_set = get_object_or_404(RuleSet, pk=pk)
        if not self.has_view_or_change_permission(request, rule_set):
            raise PermissionDenied
        form = RuleSetTestForm(request.POST or None, user=request.user)
        results = None
        if request.method == "POST" and form.is_valid():
            # The working copy, not the published version: this is how an admin checks an edit first.
            spec = RuleSetSpec.from_definition(rule_set.definition(), version_id=None, version=0)
            features = form.cleaned_data["feature_values"]
            try:
                results = evaluate_rule_set(spec, feature_context(features), features)
            except ExpressionError as exc:
                form.add_error(None, str(exc))
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": rule_set,
            "title": gettext("Test %(code)s") % {"code": rule_set.code}, "form": form, "results": results,
            "change_url": reverse("admin:risk_ruleset_change", args=[rule_set.pk]),
        }
        return TemplateResponse(request, "risk/admin/ruleset_test.html", context)


def parse_feature_values(data) -> tuple[dict, list[str]]:
    """JSON feature values → typed values; errors name the feature. Missing features are taken
    from the documented sample applicant (``risk.rules.SAMPLE_FEATURES``)."""
    if not isinstance(data, dict):
        return {}, [gettext("Enter a JSON object of feature names and values.")]
    errors, values = [], dict(SAMPLE_FEATURES)
    for name, value in data.items():
        feature = CATALOGUE.get(name)
        if feature is None:
            errors.append(gettext("Unknown feature “%(name)s”.") % {"name": name})
            continue
        ok = True
        if feature.type == "bool":
            ok = isinstance(value, bool)
        elif feature.type == "str":
            ok = isinstance(value, str)
        elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
            ok = False
        else:
            try:
                number = Decimal(str(value))
                ok = number.is_finite() and (feature.type != "int" or number == number.to_integral_value())
                value = int(number) if feature.type == "int" else number
            except InvalidOperation:
                ok = False
        if not ok:
            errors.append(gettext("“%(name)s” must be a %(type)s.") % {"name": name, "type": feature.type})
        else:
            values[name] = value
    return values, errors


class RuleSetTestForm(forms.Form):
    application = forms.CharField(
        label=_("application number"), required=False,
        help_text=_("Use the feature snapshot of this application's current decision (no data is pulled again)."),
    )
    features = forms.CharField(
        label=_("features (JSON)"), required=False, widget=forms.Textarea(attrs={"rows": 24, "cols": 80,
                                                                                  "style": "font-family: monospace"}),
        help_text=_("Feature values; any left out take the sample applicant's value (docs/risk.md)."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["features"].initial = json.dumps(
            {name: (str(value) if isinstance(value, Decimal) else value) for name, value in SAMPLE_FEATURES.items()},
            ensure_ascii=False, indent=2)

    def clean(self):
        cleaned = super().clean()
        number = (cleaned.get("application") or "").strip()
        if number:
            decisions = scope_queryset(Decision.objects.filter(status=DecisionStatus.CURRENT), self.user,
                                       branch_field="application__branch")
            decision = decisions.filter(application__number=number).first()
            if decision is None:
                self.add_error("application", gettext("No decision for application %(number)s.") % {"number": number})
                return cleaned
            cleaned["feature_values"] = FeatureSnapshot.from_json(decision.snapshot).features
            return cleaned
        try:
            data = json.loads(cleaned.get("features") or "{}")
        except ValueError as exc:
            self.add_error("features", gettext("Not valid JSON: %(error)s") % {"error": exc})
            return cleaned
        values, errors = parse_feature_values(data)
        for error in errors:
            self.add_error("features", error)
        cleaned["feature_values"] = values
        return cleaned


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(PublishedVersionAdmin):
    list_display = ("rule_set", "version", "published_at", "published_by")
    list_filter = ("rule_set__stage", "rule_set")
    list_select_related = ("rule_set", "published_by")
    readonly_fields = ("rule_set", *PublishedVersionAdmin.readonly_fields)
