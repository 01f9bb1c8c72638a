"""Access rules for views. Every view of ours is wrapped in exactly one of these.

Each decorator records the rule on the view as ``view.access_rule`` so that the URL-map
test can prove no view was left without one.

- :func:`public`: anyone, signed in or not.
- :func:`signed_in`: any signed-in person.
- :func:`staff_only`: an official holding the given capability (any official when none is
  given), who has set up a second factor and signed in with it. Officials without a second
  factor are sent to set one up; residents get a 403 page.

Capabilities and the roles holding them are registered by the apps (``core.registry``);
who holds which role is answered by the identity app through ``registry.identity``, so
this module imports no app.
"""

from __future__ import annotations

from collections.abc import Callable
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

from ecitizen.core.registry import registry

View = TypeVar("View", bound=Callable[..., HttpResponse])

#: Reading the audit trail (registered by core; the identity app says which roles hold it).
AUDIT_READ = "audit.read"


def _mark(view: Callable[..., Any], rule: str) -> None:
    view.access_rule = rule  # type: ignore[attr-defined]


def capability_roles(capability: str | None) -> frozenset[str]:
    """The roles holding ``capability``; every official role for ``None``."""
    return registry.staff_roles() if capability is None else registry.roles_with(capability)


def holds_capability(user: Any, capability: str | None) -> bool:
    """Whether the user holds a role with ``capability`` in some department (whether an
    object is within their remit is the object's own check). ``None``: any official."""
    if not getattr(user, "is_authenticated", False):
        return False
    return registry.identity.holds(user, capability_roles(capability))


def is_official(user: Any) -> bool:
    return holds_capability(user, None)


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
    if not registry.identity.has_second_factor(request.user):
        messages.warning(
            request,
            _("You must set up two-factor authentication before you can use staff pages."),
        )
        return redirect("mfa_activate_totp")
    if registry.identity.session_used_second_factor(request):
        return None
    messages.warning(request, _("Confirm it is you with your security code to use staff pages."))
    return redirect(
        f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}"
    )


def staff_only(capability: str | None = None) -> Callable[[View], View]:
    """Only officials holding ``capability`` (in some department; ``None``: any
    official) may use the view; the rule is recorded as ``staff:<capability>``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not holds_capability(request.user, capability):
                raise PermissionDenied
            gate = mfa_gate(request)
            if gate is not None:
                return gate
            return view(request, *args, **kwargs)

        _mark(wrapper, "staff:" + (capability or ""))
        return wrapper  # type: ignore[return-value]

    return decorator
