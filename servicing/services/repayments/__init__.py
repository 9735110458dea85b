"""Repayments (还款) of loans: allocation, quotes, posting, early repayment, credit balance, offline
repayments (maker-checker) and the scheduled debit (代扣). See docs/servicing.md."""

from .allocation import Allocation, Owed, allocate
from .credit import (
    credit_balance_apply, credit_balance_refund_approve, credit_balance_refund_reject, credit_balance_refund_request,
)
from .offline import offline_repayment_register, offline_repayment_reject, offline_repayment_verify
from .posting import repayment_post
from .quotes import Quote, RepaymentRefused, loan_quote

__all__ = [
    "Allocation", "Owed", "Quote", "RepaymentRefused", "allocate", "credit_balance_apply",
    "credit_balance_refund_approve", "credit_balance_refund_reject", "credit_balance_refund_request", "loan_quote",
    "offline_repayment_register", "offline_repayment_reject", "offline_repayment_verify", "repayment_post",
]
