"""Reads of the organisation, scoped to what the asking user may see."""

from django.db.models import Count

from .models import WorkGroup
from .scoping import scope_queryset, visible_branches


def branch_list_for(user):
    return visible_branches(user).annotate(staff_count=Count("staff", distinct=True)).order_by("path")


def work_group_list_for(user):
    return (
        scope_queryset(WorkGroup.objects.all(), user)
        .select_related("branch", "lead")
        .annotate(member_count=Count("members", distinct=True))
        .order_by("branch__path", "code")
    )
