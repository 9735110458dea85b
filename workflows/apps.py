from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Workflows")

    def ready(self):
        from creditfactory.core.display import register_labels

        def node_labels():
            from .flows import CreditApplicationFlow

            return {node.name: node.task_title for node in CreditApplicationFlow.instance.nodes() if node.task_title}

        # Node names and staff actions as people read them (creditfactory.core.display.label).
        register_labels("node", node_labels)
        register_labels("action", {"approve": _("Approved"), "reject": _("Rejected"),
                                   "return": _("Returned for documents"), "accept": _("Contract signed")})
        # What the application's state log records besides its status.
        register_labels("field", {"risk_decision": _("Risk decision"), "contract": _("Contract"),
                                  "task_owner": _("Assigned to"), "sla": _("SLA")})
        register_labels("contract", {"accepted": _("Signed")})
