"""Branch scoping: the one mechanism that decides which records a member of staff may see.

A record belongs to a branch (a ``branch`` foreign key, possibly through a relation). Staff see
records of the branches they belong to and of all their descendants; superusers and holders of
``organisations.view_all_branches`` see everything. Every list and detail lookup of a
branch-owned record — admin, back office, staff API — goes through ``scope_queryset``.
"""

from django.db.models import Q, QuerySet

from .models import Branch

VIEW_ALL_PERMISSION = "organisations.view_all_branches"


def sees_all_branches(user) -> bool:
    return bool(user and user.is_active and (user.is_superuser or user.has_perm(VIEW_ALL_PERMISSION)))


def visible_branches(user) -> QuerySet:
    """The branches ``user`` may see: their own and every descendant (materialised-path prefix)."""
    if not user or not user.is_authenticated or not user.is_active:
        return Branch.objects.none()
    if sees_all_branches(user):
        return Branch.objects.all()
    paths = list(Branch.objects.filter(staff__user=user).values_list("path", flat=True))
    if not paths:
        return Branch.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Branch.objects.filter(condition)


def scope_queryset(queryset: QuerySet, user, *, branch_field: str = "branch") -> QuerySet:
    """Restrict ``queryset`` to the records ``user`` may see. ``branch_field`` is the lookup path
    from the model to its Branch (e.g. ``"application__branch"``)."""
    if sees_all_branches(user):
        return queryset
    return queryset.filter(**{f"{branch_field}__in": visible_branches(user).values("pk")})


def can_see(user, obj, *, branch_field: str = "branch") -> bool:
    model = type(obj)
    return scope_queryset(model._default_manager.filter(pk=obj.pk), user, branch_field=branch_field).exists()


class BranchScopedAdminMixin:
    """Admin lists and change pages show only the records the admin user's branches may see."""

    branch_field = "branch"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, branch_field=self.branch_field)
