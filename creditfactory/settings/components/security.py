"""Settings for the protection of sign-ins against password guessing (django-axes; see
docs/security.md and docs/configuration.md).

AXES_FAILURE_LIMIT: failed sign-ins of one user from one address before that pair is locked out.
AXES_COOLOFF_MINUTES: how long the lock lasts (each further failure during it starts it again);
0 locks until an administrator lifts it.
TRUSTED_PROXY_COUNT: reverse proxies in front of the application (0: none); the sign-in address is
then read from X-Forwarded-For (set by the proxies) instead of the proxy's own address. (Not named
AXES_*: django-axes reserves AXES_PROXY_COUNT for its own, deprecated, django-ipware setting.)
"""

from datetime import timedelta

from ..env import env_int

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 30)
AXES_COOLOFF_TIME = timedelta(minutes=_COOLOFF_MINUTES) if _COOLOFF_MINUTES > 0 else None
# The pair (user, address): a guesser at one address cannot lock a user out everywhere, and a
# colleague behind the same office NAT still signs in. A guesser spreading over many addresses is
# slowed per address; the access logs show it.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A successful sign-in forgets the earlier failures: the limit counts consecutive failures.
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_HTTP_RESPONSE_CODE = 429
# The lockout page (translated, in the sign-in page's style, logged) and the client address.
AXES_LOCKOUT_CALLABLE = "creditfactory.core.signin.locked_out"
AXES_CLIENT_IP_CALLABLE = "creditfactory.core.signin.client_address"
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
