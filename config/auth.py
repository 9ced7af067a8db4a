"""Authentication backend: Django's ModelBackend, with the signed-in user's group names (their
roles) loaded in the same query as the user, where every page otherwise spent a query on each, and
a user's model permissions in one query instead of two.

The query is a prepared statement over the user model's own tables: it runs on every request,
and building it with the ORM (an ArrayAgg over a join, grouped) cost more than running it."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db.models import ManyToManyField, Model, Q

from ledger.roles import remember_roles
from ledger.store.sql import columns, load_models


@cache
def _user_with_groups_sql() -> str:
    user = get_user_model()
    groups = cast("ManyToManyField[Any, Any]", user._meta.get_field("groups"))
    group_table = Group._meta.db_table
    through = cast("type[Model]", groups.remote_field.through)._meta.db_table
    pk = user._meta.pk.column
    return (
        f'SELECT {columns(user, "u")}, ARRAY(SELECT g.name FROM "{group_table}" g JOIN "{through}" ug '
        f'ON ug."{groups.m2m_reverse_name()}" = g.id WHERE ug."{groups.m2m_column_name()}" = u."{pk}") '
        f'FROM "{user._meta.db_table}" u WHERE u."{pk}" = %s'
    )


class UserWithRolesBackend(ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        try:
            user_id = model._meta.pk.to_python(user_id)
        except ValidationError:  # a malformed id in a session is no user, as in ModelBackend
            return None
        found = load_models(model, _user_with_groups_sql(), [user_id], extra=["group_names"], primary=True)
        if not found or not self.user_can_authenticate(found[0]):
            return None
        remember_roles(found[0], getattr(found[0], "group_names"))  # noqa: B009 - the query's extra column, unknown to the User type
        return found[0]

    def get_all_permissions(self, user_obj, obj=None):
        """The permissions held directly and through groups, in one query where ModelBackend spends
        one on each; every admin page asks, for its list of apps. Superusers hold all of them."""
        if user_obj.is_superuser or not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            held = (
                Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                .values_list("content_type__app_label", "codename")
                .order_by()
            )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in held}
        return user_obj._perm_cache
