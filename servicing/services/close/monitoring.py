"""Post-loan monitoring (贷后检查监控) in the close's start of day, for a range of loans.

The risk app's ``post_loan_monitoring`` rule sets of each product (the demo seeds
``POST_LOAN_STD``) are evaluated on the features the close computes set-based from its books
(``fastpath.monitoring_features_sql``: the borrower's worst DPD over their open loans, loans
repaid): once per distinct (product, features) tuple of the range, not once per loan. Only the
loans of the tuples that hit, on lines with no open or confirmed post-loan warning, are read
(``monitoring_loans_sql``); each such line gets one warning — an in-loan warning
(``LineWarning``) with ``loan`` set (the first loan of the line that hit) and source
``post_loan``, its opening recorded as a state transition, in the work group's queue like the
others; a handling other than notify is applied by ``CLOSE_WARNING_HANDLER`` (workflows'
``warning_handle``, a layer above).

Idempotent and race-free: a line has at most one open (or confirmed) post-loan warning — a
partial unique index, the insert skipping a line another chunk raised one for meanwhile — so a
re-run of the date, or the next date while the borrower is still late, raises nothing twice;
once the warning is lifted, a new hit raises a new one. The reference ``PL<date>-<loan number>``
names the close that raised it."""

from __future__ import annotations

import datetime
import json
import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils.module_loading import import_string

from creditfactory.core.models import StateTransition
from products.models import LoanProduct
from risk.selectors import PolicyNotReady
from risk.services.postloan import post_loan_hits, post_loan_rule_sets
from servicing.models import LineWarning, WarningAction, WarningStatus

from .fastpath import monitoring_features_sql, monitoring_loans_sql, warnings_insert_sql

__all__ = ["post_loan_monitoring"]

log = logging.getLogger("servicing.close")


def _rule_sets() -> dict[int, tuple]:
    """Each product's published post-loan rule sets (products without any left out)."""
    found = {}
    for product_id in LoanProduct.objects.values_list("id", flat=True):
        try:
            rule_sets = post_loan_rule_sets(product_id=product_id)
        except PolicyNotReady as exc:  # never published: the product is not monitored, the close goes on
            log.warning("post-loan monitoring of product %s skipped: %s", product_id, exc)
            continue
        if rule_sets:
            found[product_id] = rule_sets
    return found


def _reason(rules) -> str:
    rules = json.loads(rules) if isinstance(rules, str) else rules
    return "; ".join(rule["description"] or rule["code"] for rule in rules)[:500]


def post_loan_monitoring(*, business_date: datetime.date, lo: int, hi: int) -> int:
    """Evaluate the post-loan rule sets for the open loans ``lo``…``hi`` on ``business_date`` (the
    day starting, DPD as its close left them) and raise a warning for each line whose loan hits.
    Returns the warnings raised."""
    rule_sets = _rule_sets()
    if not rule_sets:
        return 0
    products = sorted(rule_sets)
    results = {}
    for product_id, max_dpd, repaid, _loans in monitoring_features_sql(lo=lo, hi=hi, products=products):
        features = {"scenario.existing_customer": True, "scenario.max_dpd_own": max_dpd,
                    "scenario.repaid_loans": repaid}
        result = post_loan_hits(rule_sets=rule_sets[product_id], features=features)
        if result.hit:
            results[(product_id, max_dpd, repaid)] = result
    if not results:
        return 0
    loans = monitoring_loans_sql(lo=lo, hi=hi, products=products, tuples=list(results))
    inserted = warnings_insert_sql(business_date=business_date, rows=[
        (line_id, loan_id, results[(product_id, max_dpd, repaid)].action or WarningAction.NOTIFY,
         json.dumps(results[(product_id, max_dpd, repaid)].rules, ensure_ascii=False),
         f"PL{business_date:%Y%m%d}-{number}"[:40])
        for loan_id, number, line_id, product_id, max_dpd, repaid in loans])
    content_type = ContentType.objects.get_for_model(LineWarning)
    StateTransition.objects.bulk_create([
        StateTransition(content_type=content_type, object_id=str(warning_id), field="status", from_state="",
                        to_state=WarningStatus.OPEN, actor_label="rule",
                        reason=_reason(rules))
        for warning_id, _loan, _action, rules in inserted])
    handled = [warning_id for warning_id, _loan, action, _rules in inserted if action != WarningAction.NOTIFY]
    if handled and settings.CLOSE_WARNING_HANDLER:
        handle = import_string(settings.CLOSE_WARNING_HANDLER)
        for warning in LineWarning.objects.filter(pk__in=handled).select_related("credit_line").order_by("pk"):
            handle(warning=warning)
    return len(inserted)
