"""Post-loan monitoring (贷后检查监控) in the daily close's start of day: the product's
post-loan rule set (the demo's ``POST_LOAN_STD`` rules) evaluated on the borrower's repayment
behaviour the close computes set-based; a loan that hits gets one warning, a re-run or the next
day raises none twice, rules reading data the close does not pull are not evaluated, and a
handling beyond notify is applied as for an in-loan warning."""

import datetime
from decimal import Decimal

import pytest

from creditfactory.core.state import transitions_for
from risk.demo_policy import POST_LOAN_RULES, warning_rule
from risk.services import policies
from servicing.models import CreditLine, LineWarning
from servicing.services.calendar import business_date, business_date_set
from servicing.services.close import close_date, close_day
from tests.risk.policy_factories import make_policy, make_rule_sets
from servicing.services.loans import loan_book
from tests.servicing.factories import make_drawdown
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

D = Decimal
DAY = datetime.date(2027, 3, 9)


def _post_loan_policy(product, rules=POST_LOAN_RULES):
    rule_set = policies.rule_set_create(actor=None, code="T_POST_LOAN", name="Post-loan", stage="post_loan_monitoring",
                                        rules=rules)
    policies.rule_set_publish(rule_set=rule_set, actor=None)
    make_policy(product, rule_sets=[*make_rule_sets(), rule_set])


def _loans():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    late = make_loan(amount=D("20000.00"), term=12, value_date=datetime.date(2026, 12, 4))  # due 01-04 unpaid
    current = make_loan(amount=D("10000.00"), term=6, value_date=datetime.date(2027, 2, 20))
    business_date_set(date=DAY, reason="test")
    return late, current


def test_a_late_loan_raises_one_post_loan_warning_and_a_re_run_none():
    late, current = _loans()
    _post_loan_policy(late.product_version.product)
    [result] = close_day()  # close of 03-09; the start of 03-10 evaluates DPD 65
    assert (result["monitoring"], result["rows_written"] > 0) == (1, True)
    warning = LineWarning.objects.get()
    assert (warning.loan, warning.credit_line_id, warning.source, warning.action, warning.status) == (
        late, late.credit_line_id, "post_loan", "notify", "open")
    assert (warning.business_date, warning.check_reference) == (
        datetime.date(2027, 3, 10), f"PL20270310-{late.number}")
    # PL_OWN_LATE fired; PL_BUREAU_OVERDUE and PL_INCOME_DROP read data the close does not pull
    assert warning.rules == [{"code": "PL_OWN_LATE", "rule": "PL_OWN_LATE", "description": "Late with us",
                              "values": {"scenario.max_dpd_own": "65"}}]
    assert [(t.from_state, t.to_state, t.actor_label) for t in transitions_for(warning)] == [("", "open", "rule")]
    assert not LineWarning.objects.filter(loan=current).exists()

    again = close_date(business_date=DAY)  # a re-run of the date
    assert (again["monitoring"], again["rows_written"]) == (0, 0)
    close_day()  # the next date: still late, the warning still open
    assert LineWarning.objects.count() == 1
    assert business_date() == datetime.date(2027, 3, 11)


def test_a_warning_whose_rule_freezes_is_handled_as_an_in_loan_warning():
    late, current = _loans()
    _post_loan_policy(late.product_version.product, rules=[
        warning_rule("PL_SEVERE", "scenario.max_dpd_own > 60", "PL_SEVERE", "Severely late", "freeze"),
        warning_rule("PL_LATE", "scenario.max_dpd_own > 0", "PL_LATE", "Late", "notify", priority=200)])
    [result] = close_day()
    assert result["monitoring"] == 1
    warning = LineWarning.objects.get()
    assert (warning.loan, warning.action, [rule["code"] for rule in warning.rules]) == (
        late, "freeze", ["PL_SEVERE", "PL_LATE"])
    assert CreditLine.objects.get(pk=late.credit_line_id).status == "frozen"
    assert CreditLine.objects.get(pk=current.credit_line_id).status == "active"


def test_two_late_loans_of_one_line_raise_one_warning_naming_the_first():
    late, _current = _loans()
    second = loan_book(drawdown=make_drawdown(line=late.credit_line, amount=D("5000.00"), term=6,
                                              value_date=datetime.date(2027, 1, 10)))  # due 02-10 unpaid
    _post_loan_policy(late.product_version.product)
    [result] = close_day()
    assert result["monitoring"] == 1
    assert list(LineWarning.objects.values_list("credit_line_id", "loan_id")) == [(late.credit_line_id, late.pk)]
    assert second.credit_line_id == late.credit_line_id


def test_without_a_post_loan_rule_set_nothing_is_evaluated():
    _loans()
    [result] = close_day()
    assert (result["monitoring"], LineWarning.objects.count()) == (0, 0)
