"""Django admin of the risk app, one module per concern."""

from . import applicants, datasources, lists, rules, scoring, decisions  # noqa: F401
