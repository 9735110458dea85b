"""The refusal page (403): says in the user's language why, and links back to where they came
from and to their own work, instead of only offering to sign in as someone else."""

from django.template import loader
from django.http import HttpResponseForbidden
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token


def _sentence(exception) -> str:
    """The reason given with the refusal when it is a sentence written for people (our services'
    translated messages); viewflow's internal reasons (transition names) are not shown."""
    text = str(exception or "").strip()
    return text if " " in text and text[-1:] in (".", "。", "!", "！") else ""


def _back_url(request) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return referer
    return "/"


@requires_csrf_token
def permission_denied(request, exception=None):
    template = loader.get_template("403.html")
    context = {"exception_sentence": _sentence(exception), "back_url": _back_url(request)}
    return HttpResponseForbidden(template.render(context, request))
