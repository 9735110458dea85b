from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicingConfig(AppConfig):
    name = "servicing"
    verbose_name = _("Servicing")

    def ready(self):
        from creditfactory.core.display import register_labels

        from .selectors.close import CLOSE_PHASES
        from .selectors.loans import TRANSACTION_TYPES

        # Codes the back office shows (creditfactory.core.display.label).
        register_labels("transaction", TRANSACTION_TYPES)
        register_labels("close_phase", CLOSE_PHASES)
