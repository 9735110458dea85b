"""API v1 routes of the workflows app (mounted under /api/v1/, names in the "api" namespace): the
partner's applications, their documents, remote signing, contract and credit line. ``<int:pk>``
is the application's ``id``."""

from django.urls import path

from . import api, api_line_changes, drawdown_api

urlpatterns: list = [
    path("applications", api.ApplicationListApi.as_view(), name="application-list"),
    path("applications/<int:pk>", api.ApplicationDetailApi.as_view(), name="application-detail"),
    path("applications/<int:pk>/withdraw", api.ApplicationWithdrawApi.as_view(), name="application-withdraw"),
    path("applications/<int:pk>/documents", api.ApplicationDocumentApi.as_view(), name="application-documents"),
    path("applications/<int:pk>/signing/slots", api.ApplicationSigningSlotsApi.as_view(),
         name="application-signing-slots"),
    path("applications/<int:pk>/signing", api.ApplicationSigningApi.as_view(), name="application-signing"),
    path("applications/<int:pk>/signing/reschedule", api.ApplicationSigningRescheduleApi.as_view(),
         name="application-signing-reschedule"),
    path("applications/<int:pk>/signing/cancel", api.ApplicationSigningCancelApi.as_view(),
         name="application-signing-cancel"),
    path("applications/<int:pk>/contract/accept", api.ApplicationContractAcceptApi.as_view(),
         name="application-contract-accept"),
    path("applications/<int:pk>/credit-line", api.ApplicationCreditLineApi.as_view(),
         name="application-credit-line"),
    path("credit-lines/<int:pk>/drawdowns", drawdown_api.CreditLineDrawdownApi.as_view(),
         name="credit-line-drawdowns"),
    path("drawdowns", drawdown_api.DrawdownListApi.as_view(), name="drawdown-list"),
    path("drawdowns/<int:pk>", drawdown_api.DrawdownDetailApi.as_view(), name="drawdown-detail"),
    path("drawdowns/<int:pk>/cancel", drawdown_api.DrawdownCancelApi.as_view(), name="drawdown-cancel"),
    path("credit-lines/<int:pk>/changes", api_line_changes.CreditLineChangeListApi.as_view(),
         name="credit-line-changes"),
]
