"""``{% business_date_label %}``: the current business date (营业日) for page headers (back office
and admin)."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from servicing.services.calendar import business_date

register = template.Library()


@register.simple_tag
def business_date_label():
    return format_html('<span class="business-date" title="{}">{} {}</span>',
                       _("Every money event is dated with the business date."), _("Business date"),
                       business_date().isoformat())
