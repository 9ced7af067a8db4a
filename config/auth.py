"""Authentication backend: Django's ModelBackend, with the signed-in user's group names (their
roles) loaded in the same query as the user, where every page otherwise spent a query on each."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q

from ledger.roles import remember_roles


class UserWithRolesBackend(ModelBackend):
    def get_user(self, user_id):  # noqa: ANN001, ANN201 - as ModelBackend.get_user
        user = (get_user_model()._default_manager
                .annotate(group_names=ArrayAgg("groups__name", filter=Q(groups__isnull=False), default=[]))
                .filter(pk=user_id).first())
        if user is None or not self.user_can_authenticate(user):
            return None
        remember_roles(user, user.group_names)
        return user
