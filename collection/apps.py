from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsConfig(AppConfig):
    """The collections app. The package is ``collection`` because a top-level package named
    ``collections`` would shadow Python's standard library; the app label stays ``collections``."""

    name = "collection"
    label = "collections"
    verbose_name = _("Collections")
