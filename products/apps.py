from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = _("Products")

    def ready(self):
        from creditfactory.core.display import register_labels

        from .choices import Component, Purpose, RepaymentMethod

        # admin shows a product's lists of codes as their labels (creditfactory.core.admin_display)
        register_labels("codes:repayment_methods", dict(RepaymentMethod.choices))
        register_labels("codes:purposes", dict(Purpose.choices))
        register_labels("codes:drawdown_review_purposes", dict(Purpose.choices))
        register_labels("codes:allocation_order", dict(Component.choices))
