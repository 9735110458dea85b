"""API v1 routes of the servicing app (mounted under /api/v1/)."""

from django.urls import path

from .api import CreditLineDetailApi, ScheduleCalculatorApi
from .api_payments import PaymentCallbackApi
from .api_loans import LoanDetailApi, LoanListApi
from .api_repayments import LoanQuoteApi, LoanRepaymentApi, LoanTransactionsApi

urlpatterns = [
    path("calculator/schedule", ScheduleCalculatorApi.as_view(), name="calculator-schedule"),
    path("credit-lines/<int:pk>", CreditLineDetailApi.as_view(), name="credit-line-detail"),
    path("payments/callback", PaymentCallbackApi.as_view(), name="payments-callback"),
    path("loans", LoanListApi.as_view(), name="loan-list"),
    path("loans/<int:pk>", LoanDetailApi.as_view(), name="loan-detail"),
    path("loans/<int:pk>/quote", LoanQuoteApi.as_view(), name="loan-quote"),
    path("loans/<int:pk>/repayments", LoanRepaymentApi.as_view(), name="loan-repayments"),
    path("loans/<int:pk>/transactions", LoanTransactionsApi.as_view(), name="loan-transactions"),
]
