"""The composition root as a Django app: it holds no models, only the commands that tie every app
together (``manage.py demo``)."""

from django.apps import AppConfig


class CreditFactoryConfig(AppConfig):
    name = "creditfactory"
    label = "creditfactory"
    verbose_name = "CreditFactory"
