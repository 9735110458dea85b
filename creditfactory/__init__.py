"""CreditFactory: a configurable credit-factory (信贷工厂) loan-origination platform."""

from .celery import app as celery_app

__all__ = ("celery_app",)
