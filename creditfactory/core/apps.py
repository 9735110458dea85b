from axes import apps as axes_apps
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    # This module also holds AxesConfig: say which one "creditfactory.core" means.
    default = True
    name = "creditfactory.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from . import admin_display

        admin_display.install()

class AxesConfig(axes_apps.AppConfig):
    """django-axes (the sign-in lockout) with a translated name in admin; it ships none."""

    verbose_name = _("Sign-in lockout")
