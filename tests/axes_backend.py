"""The sign-in lockout backend for the test settings.

django-axes needs the request in ``authenticate()``; Django's test ``Client.login()`` calls it
without one. As django-axes documents for callers that cannot pass it, a blank ``HttpRequest``
stands in, so ``client.login(username=..., password=...)`` keeps working while the lockout stays
on — the lockout tests go through the real sign-in pages. Production keeps the stock backend, which
refuses a call without a request rather than track it under no address.
"""

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class TestClientAxesBackend(AxesStandaloneBackend):
    def authenticate(self, request=None, username=None, password=None, **kwargs):
        return super().authenticate(request if request is not None else HttpRequest(), username=username,
                                    password=password, **kwargs)
