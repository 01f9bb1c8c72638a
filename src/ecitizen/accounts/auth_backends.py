"""The authentication backend: allauth's, with a per-request user fetch that also says
whether the person holds any staff role."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.db.models import Exists, OuterRef, QuerySet

from ecitizen.accounts.models import RoleAssignment, User
from ecitizen.core.compiled import CompiledQuery

#: Set on the user that :meth:`AuthenticationBackend.get_user` returns:
#: ``False`` when they hold no role assignment at all (most people: residents).
HOLDS_ANY_ROLE_ATTR = "holds_any_role"


def _user_with_role_flag(pk: int) -> QuerySet[User]:
    holds_any_role = Exists(RoleAssignment.objects.filter(user=OuterRef("pk")))
    return User._default_manager.annotate(**{HOLDS_ANY_ROLE_ATTR: holds_any_role}).filter(pk=pk)


#: Compiled once per process (core.compiled): built by the ORM on every request, this
#: query cost twice what it costs run as SQL.
_USER_WITH_ROLE_FLAG = CompiledQuery(
    User, _user_with_role_flag, pk=(-7_031_962_441, User._meta.get_field("id"))
)


class AuthenticationBackend(AllauthBackend):
    """allauth's sign-in (email and password, rate limits), unchanged.

    ``get_user`` (called once per request by ``AuthenticationMiddleware``) fetches the
    user with one ``EXISTS`` on their role assignments in the same query. A resident's
    request then never queries their (empty) assignments: the navigation, the idle limit
    and every staff check ask ``accounts.selectors.user_role_assignments``, which reads
    that flag. Officials' assignments are still read once per request, so a role taken
    away applies at their next request.
    """

    def get_user(self, user_id: Any) -> User | None:
        user = _USER_WITH_ROLE_FLAG.first(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
