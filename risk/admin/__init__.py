"""Django admin of the risk app, one module per concern."""

from . import applicants, datasources, lists, rules, scoring, decisions, inloan  # noqa: F401
