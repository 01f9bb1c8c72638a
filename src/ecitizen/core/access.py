"""Access rules for views. Every view of ours is wrapped in exactly one of these.

Each decorator records the rule on the view as ``view.access_rule`` so that the URL-map
test can prove no view was left without one.

- :func:`public`: anyone, signed in or not.
- :func:`signed_in`: any signed-in person.
- :func:`staff_only`: an official holding one of the given roles, who has set up a second
  factor and signed in with it. Officials without a second factor are sent to set one up;
  residents get a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from ecitizen.accounts.models import STAFF_ROLES
from ecitizen.accounts.selectors import session_used_second_factor, user_has_mfa, user_has_role

View = TypeVar("View", bound=Callable[..., HttpResponse])


def _mark(view: Callable[..., Any], rule: str) -> None:
    view.access_rule = rule  # type: ignore[attr-defined]


def public(view: View) -> View:
    """Anyone may use this view (listed as public in the URL-map test)."""
    _mark(view, "public")
    return view


def signed_in(view: View) -> View:
    """The person must be signed in; otherwise they are sent to sign in and come back."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    _mark(wrapper, "signed_in")
    return wrapper  # type: ignore[return-value]


def mfa_gate(request: HttpRequest) -> HttpResponse | None:
    """``None`` when the official's session used a second factor; otherwise where to go:
    set one up (none yet), or confirm it (this session signed in without it)."""
    if not user_has_mfa(request.user):
        messages.warning(
            request,
            _("You must set up two-factor authentication before you can use staff pages."),
        )
        return redirect("mfa_activate_totp")
    if session_used_second_factor(request):
        return None
    messages.warning(request, _("Confirm it is you with your security code to use staff pages."))
    return redirect(
        f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}"
    )


def staff_only(roles: Iterable[str] = STAFF_ROLES) -> Callable[[View], View]:
    """Only officials holding one of ``roles`` (in any department) may use the view."""
    allowed = frozenset(roles)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_role(request.user, allowed):
                raise PermissionDenied
            gate = mfa_gate(request)
            if gate is not None:
                return gate
            return view(request, *args, **kwargs)

        _mark(wrapper, "staff:" + ",".join(sorted(allowed)))
        return wrapper  # type: ignore[return-value]

    return decorator
