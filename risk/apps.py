from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk")

    def ready(self):
        from creditfactory.core.display import register_labels

        from .engine import STEP_LABELS
        from .models import DecisionOutcome
        from .models.datasources import CallStatus, Source
        from .rules import RuleOutcome

        # The codes of a decision as staff read them (creditfactory.core.display.label).
        register_labels("outcome", dict(DecisionOutcome.choices))
        register_labels("risk_decision", dict(DecisionOutcome.choices))  # the state log's field
        register_labels("rule_outcome", dict(RuleOutcome.choices))
        register_labels("step", STEP_LABELS)
        register_labels("step_status", {
            "passed": _("Passed"), "referred": _("Referred to manual review"), "rejected": _("Rejected"),
            "skipped": _("Not run"), "error": _("Error"),
        })
        register_labels("rule_status", {
            "matched": _("Fired"), "not_matched": _("Passed"), "not_evaluated": _("Not evaluated"),
            "error": _("Error"),
        })
        register_labels("source", dict(Source.choices))
        register_labels("call_status", dict(CallStatus.choices))
