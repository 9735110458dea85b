"""Template filters of ``creditfactory.core.display``: ``{% load cf_display %}`` then
``{{ amount|money }}``, ``{{ rate|rate:basis }}``, ``{{ share|percent }}``, ``{{ at|dt }}``,
``{{ day|d }}``, ``{{ name|masked_name }}``, ``{{ code|label:"node" }}``."""

from django import template

from .. import display

register = template.Library()


@register.filter
def money(value):
    return display.format_money(value)


@register.filter
def rate(value, basis=display.ANNUAL):
    return display.format_rate(value, basis or display.ANNUAL)


@register.filter
def percent(value):
    return display.format_percent(value)


@register.filter
def dt(value):
    return display.format_datetime(value)


@register.filter
def d(value):
    return display.format_date(value)


@register.filter
def masked_name(value):
    return display.mask_name(value)


@register.filter
def label(value, kind):
    return display.label(kind, value)


@register.simple_tag
def state_label(obj_or_model, field, state):
    """``{% state_label transition.content_type.model_class transition.field transition.to_state %}``."""
    model = obj_or_model if isinstance(obj_or_model, type) else type(obj_or_model)
    return display.state_label(model, field, state)


@register.filter
def field_label(path, model_label):
    """``{{ error.field|field_label:"workflows.CreditApplication" }}``: ``applicant.id_number`` →
    ``Applicant · ID number``."""
    from django.apps import apps

    if not path:
        return ""
    return display.field_label(apps.get_model(model_label), path)


@register.filter
def plain(value):
    """``{{ value|plain }}``: yes / no, lists and mappings as text, never a Python repr."""
    return display.format_value(value)
