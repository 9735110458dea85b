"""Back-office pages of the organisation: the branches and work groups a user may see."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from viewflow.urls import AppMenuMixin, Viewset

from . import selectors


class OrganisationView(LoginRequiredMixin, TemplateView):
    template_name = "organisations/organisation.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            branches=selectors.branch_list_for(user), work_groups=selectors.work_group_list_for(user), **kwargs
        )


class OrganisationViewset(AppMenuMixin, Viewset):
    title = _("Branches and work groups")
    icon = "groups"
    app_name = "structure"
    index_path = path("", OrganisationView.as_view(), name="index")
