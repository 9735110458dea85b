"""Sandbox providers: one per source, deterministic from the applicant, for development,
demos, tests and benchmarks. The trigger values are documented in docs/sandbox.md; keep the
two in step.

The answer depends on the ID number's sequence code (digits 15-17, the three digits before the
check character), the mobile's last four digits and the device ID:

* sequence 900-999 select a named profile by their first two digits (``PROFILES``);
* sequence 000-899 give an ordinary applicant whose figures follow ``n = sequence mod 100``;
* mobile ending 0000 is on the external fraud list, ending 1111 on the risk list;
* a device ID starting with ``FRAUD`` (any case) is on the fraud list.

Latency (``DataSourceConfig.sandbox_latency_ms``) is simulated with ``time.sleep``; an
attempt fails with ``DataSourceTimeout`` when the latency exceeds the timeout, when the
profile says so (sequence 91x: the bureau never answers), or by the configured failure rate
(0 never, 1 always, in between at random).
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from .base import DataSourceTimeout, Provider, Query
from .registry import register

__all__ = ["PROFILES", "SandboxProvider", "sequence_of"]

THIN_FILE = "thin_file"
DELINQUENT = "delinquent"
COURT_SEVERE = "court_severe"
MULTI_LENDING = "multi_lending"
FRAUD_ID = "fraud_id"
RISK_ID = "risk_id"
GOOD_CUSTOMER = "good_customer"
LATE_CUSTOMER = "late_customer"
BUREAU_DOWN = "bureau_down"
COURT_MILD = "court_mild"

# First two digits of the sequence code (90x-99x) → profile.
PROFILES = {
    "99": THIN_FILE,
    "98": DELINQUENT,
    "97": COURT_SEVERE,
    "96": MULTI_LENDING,
    "95": FRAUD_ID,
    "94": RISK_ID,
    "93": GOOD_CUSTOMER,
    "92": LATE_CUSTOMER,
    "91": BUREAU_DOWN,
    "90": COURT_MILD,
}
FRAUD_MOBILE_SUFFIX = "0000"
RISK_MOBILE_SUFFIX = "1111"
FRAUD_DEVICE_PREFIX = "FRAUD"


def sequence_of(id_number: str) -> str:
    return id_number[14:17]


def profile_of(query: Query) -> str | None:
    return PROFILES.get(sequence_of(query.id_number)[:2])


class SandboxProvider(Provider):
    name = "sandbox"
    label = _("Sandbox (deterministic test data)")
    # Profiles for which this source never answers.
    down_profiles: frozenset[str] = frozenset()

    def fetch(self, query: Query, *, timeout_s: float) -> dict:
        latency_s = self.config.sandbox_latency_ms / 1000
        if profile_of(query) in self.down_profiles or self._injected_failure():
            self._sleep(min(latency_s, timeout_s))
            raise DataSourceTimeout(self.source, f"sandbox {self.source}: no answer (simulated)")
        if latency_s > timeout_s:
            self._sleep(timeout_s)
            raise DataSourceTimeout(self.source, f"sandbox {self.source}: no answer within {timeout_s:.3f}s")
        self._sleep(latency_s)
        return self.answer(query)

    def answer(self, query: Query) -> dict:
        raise NotImplementedError

    def _injected_failure(self) -> bool:
        rate = Decimal(self.config.sandbox_failure_rate or 0)
        if rate <= 0:
            return False
        if rate >= 1:
            return True
        return random.random() < float(rate)  # noqa: S311 - a simulation, not security

    @staticmethod
    def _sleep(seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def _n(query: Query) -> int:
    return int(sequence_of(query.id_number)) % 100


@register
class SandboxBureau(SandboxProvider):
    source = "bureau"
    down_profiles = frozenset({BUREAU_DOWN})

    def answer(self, query: Query) -> dict:
        profile = profile_of(query)
        if profile == THIN_FILE:
            return {"thin_file": True, "score": 0, "overdue_count": 0, "max_dpd_24m": 0, "inquiries_3m": 0,
                    "outstanding_debt": Decimal("0.00"), "monthly_debt_payment": Decimal("0.00")}
        if profile == DELINQUENT:
            return {"thin_file": False, "score": 480, "overdue_count": 2, "max_dpd_24m": 120, "inquiries_3m": 9,
                    "outstanding_debt": Decimal("85000.00"), "monthly_debt_payment": Decimal("4200.00")}
        n = _n(query)
        debt = Decimal(1000 * (n % 50)).quantize(Decimal("0.01"))
        return {
            "thin_file": False,
            "score": 600 + 3 * n,
            "overdue_count": 0,
            "max_dpd_24m": 0,
            "inquiries_3m": n % 4,
            "outstanding_debt": debt,
            "monthly_debt_payment": (debt / 20).quantize(Decimal("0.01")),
        }


@register
class SandboxMultiLending(SandboxProvider):
    source = "multi_lending"

    def answer(self, query: Query) -> dict:
        if profile_of(query) == MULTI_LENDING:
            return {"applications_7d": 6, "applications_30d": 15, "institutions_30d": 8}
        n = _n(query)
        return {"applications_7d": n % 2, "applications_30d": n % 4, "institutions_30d": n % 4}


@register
class SandboxFraud(SandboxProvider):
    source = "fraud"

    def answer(self, query: Query) -> dict:
        profile = profile_of(query)
        return {
            "id_hit": profile == FRAUD_ID,
            "mobile_hit": query.mobile.endswith(FRAUD_MOBILE_SUFFIX),
            "device_hit": query.device_id.upper().startswith(FRAUD_DEVICE_PREFIX),
            "risk_list_hit": profile == RISK_ID or query.mobile.endswith(RISK_MOBILE_SUFFIX),
        }


@register
class SandboxCourt(SandboxProvider):
    source = "court"

    def answer(self, query: Query) -> dict:
        profile = profile_of(query)
        if profile == COURT_SEVERE:
            return {"judgments": 2, "enforcements": 1, "dishonest_debtor": True}
        if profile == COURT_MILD:
            return {"judgments": 1, "enforcements": 0, "dishonest_debtor": False}
        return {"judgments": 0, "enforcements": 0, "dishonest_debtor": False}


@register
class SandboxScenario(SandboxProvider):
    source = "scenario"

    def answer(self, query: Query) -> dict:
        profile = profile_of(query)
        if profile == GOOD_CUSTOMER:
            return {"existing_customer": True, "repaid_loans": 3, "max_dpd_own": 0}
        if profile == LATE_CUSTOMER:
            return {"existing_customer": True, "repaid_loans": 1, "max_dpd_own": 45}
        return {"existing_customer": False, "repaid_loans": 0, "max_dpd_own": 0}
