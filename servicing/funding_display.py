"""What the drawdown page shows of funding and disbursement (issue 15 §8): "why this funder"
(the routing explanation as translated sentences), each funder's part, the disbursement and
every attempt, callback and status query — labels, not codes; money with separators; times in
Asia/Shanghai. Rendered by ``templates/servicing/_drawdown_funding.html``."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditfactory.core.money import format_money

from .models import Disbursement, DisbursementEvent, DisbursementStatus, FundingHoldStatus
from .routing import explanation_lines

__all__ = ["drawdown_funding_context"]

RESULT_LABELS = {
    "accepted": _("accepted"),
    "duplicate": _("already received (nothing paid twice)"),
    "timeout": _("no answer in time"),
    "unavailable": _("channel unavailable"),
    "refused": _("refused"),
    "paid": _("paid"),
    "failed": _("failed"),
    "pending": _("still pending"),
    "unknown": _("not received by the channel"),
    "signature": _("invalid signature"),
    "timestamp": _("stale timestamp"),
}


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def drawdown_funding_context(*, drawdown) -> dict:
    parts = [{"funder": row.funder.name, "share": format(row.share_percent.normalize(), "f"),
              "principal": format_money(row.principal), "rate": format(row.rate_percent.normalize(), "f"),
              "lead": row.lead, "hold": FundingHoldStatus(row.hold_status).label}
             for row in drawdown.funding.select_related("funder").order_by("-lead", "funder__code")]
    disbursement = Disbursement.objects.filter(drawdown=drawdown).select_related("channel").first()
    context = {"routing_lines": explanation_lines(drawdown.routing or {}), "routed": bool(drawdown.routing),
               "routing_funded": bool((drawdown.routing or {}).get("funded")), "parts": parts,
               "disbursement": None, "events": []}
    if disbursement is not None:
        context["disbursement"] = {
            "reference": disbursement.reference, "status": DisbursementStatus(disbursement.status).label,
            "amount": format_money(disbursement.amount), "cost": format_money(disbursement.cost),
            "channel": disbursement.channel.name, "sent_at": _local(disbursement.sent_at),
            "confirmed_at": _local(disbursement.confirmed_at), "failure": disbursement.failure_message}
        context["events"] = [
            {"at": _local(event.at), "kind": event.get_kind_display(),
             "result": RESULT_LABELS.get(event.result, ""), "duplicate": event.duplicate}
            for event in DisbursementEvent.objects.filter(disbursement=disbursement)]
    return context
