"""Repayments (还款) of loans: allocation, quotes, posting, early repayment, credit balance, offline
repayments (maker-checker) and the scheduled debit (代扣). See docs/servicing.md."""

from .allocation import Allocation, Owed, allocate
from .collection import collection_callback, collection_request
from .credit import (
    credit_balance_apply, credit_balance_refund_approve, credit_balance_refund_reject, credit_balance_refund_request,
)
from .offline import offline_repayment_register, offline_repayment_reject, offline_repayment_verify
from .posting import repayment_post
from .quotes import Quote, RepaymentRefused, loan_quote

__all__ = [
    "Allocation", "Owed", "Quote", "RepaymentRefused", "allocate", "collection_callback", "collection_request",
    "credit_balance_apply",
    "credit_balance_refund_approve", "credit_balance_refund_reject", "credit_balance_refund_request", "loan_quote",
    "offline_repayment_register", "offline_repayment_reject", "offline_repayment_verify", "repayment_post",
]
