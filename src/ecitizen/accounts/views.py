"""The resident's account: profile, data tracker, security activity; staff pages for
residents and roles."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from ecitizen.accounts import selectors, services
from ecitizen.accounts.forms import ProfileForm, ResidentLookupForm, RoleAssignForm
from ecitizen.accounts.models import Role
from ecitizen.core.access import holds_capability, signed_in, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.http import client_ip
from ecitizen.core.processcache import reverse_once
from ecitizen.core.registry import registry

#: How the account page names the profile fields an eID confirmed.
VERIFIED_FIELD_LABELS = {
    "legal_name": _lazy("full legal name"),
    "date_of_birth": _lazy("date of birth"),
    "national_id": _lazy("national identity number"),
}


def _verification_context(user: object) -> dict[str, object]:
    """The verified identity shown on the account page (none: empty values)."""
    verification = selectors.identity_verification_for(user)
    if verification is None:
        return {"verification": None}
    from ecitizen.accounts.oidc import provider_config

    config = provider_config(verification.provider)
    return {
        "verification": verification,
        "verification_provider_name": config["name"] if config else verification.provider,
        "verification_labels": [
            VERIFIED_FIELD_LABELS[field]
            for field in verification.verified_fields
            if field in VERIFIED_FIELD_LABELS
        ],
    }


@signed_in
def account_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/home.html",
        {
            **_verification_context(request.user),
            "profile": selectors.profile_of(request.user),
            "has_mfa": selectors.user_has_mfa(request.user),
            # An official whose staff identity provider asserted a second factor at
            # this sign-in is not asked to set one up here.
            "needs_mfa": selectors.user_needs_mfa(request.user)
            and not selectors.session_idp_second_factor(request, request.user),
            "roles": selectors.user_role_assignments(request.user),
            # What the apps list on this page (``NavItem(..., "account")``).
            # An item that names a capability shows only to those who hold it.
            "account_links": [
                (item.label, reverse_once(item.url_name))
                for item in registry.navigation("account")
                if item.capability is None or holds_capability(request.user, item.capability)
            ],
        },
    )


@signed_in
def profile_edit(request: HttpRequest) -> HttpResponse:
    profile = request.user.profile  # type: ignore[union-attr]
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.profile_update(
                    user=request.user,  # type: ignore[arg-type]
                    data=form.cleaned_data,
                    actor=request.user,
                    ip_address=client_ip(request),
                )
            except services.NationalIdInUse as error:
                form.add_error("national_id", str(error.message))
            except services.VerifiedFieldLocked as error:
                form.add_error(error.field, str(error.message))
            else:
                messages.success(request, _("Your details have been saved."))
                return redirect("accounts:home")
    else:
        form = ProfileForm(
            initial={field: getattr(profile, field) for field in services.PROFILE_FIELDS}
        )
    return render(request, "accounts/profile_edit.html", {"form": form})


@signed_in
def data_tracker(request: HttpRequest) -> HttpResponse:
    events = selectors.data_tracker_for_resident(user=request.user)
    return render(request, "accounts/data_tracker.html", {"events": events})


@signed_in
def account_activity(request: HttpRequest) -> HttpResponse:
    events = selectors.account_activity_for_user(user=request.user)
    return render(request, "accounts/activity.html", {"events": events})


# --- Staff ------------------------------------------------------------------------------


@staff_only()
def staff_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "staff/home.html",
        {"roles": selectors.user_role_assignments(request.user)},
    )


@staff_only(selectors.RESIDENTS_READ)
def resident_search(request: HttpRequest) -> HttpResponse:
    results = None
    # POST keeps national identity numbers out of addresses, logs and browser history.
    form = ResidentLookupForm(request.POST or None)
    if form.is_bound and form.is_valid():
        if form.cleaned_data["national_id"]:
            match = selectors.resident_find_by_national_id(
                national_id=form.cleaned_data["national_id"],
                actor=request.user,
                ip_address=client_ip(request),
            )
            results = [match] if match else []
        else:
            results = selectors.resident_search(
                query=form.cleaned_data["query"], actor=request.user, ip_address=client_ip(request)
            )
    return render(
        request,
        "staff/residents.html",
        {"form": form, "results": results, "limit": selectors.SEARCH_LIMIT},
    )


@staff_only(selectors.RESIDENTS_READ)
def resident_detail(request: HttpRequest, profile_id: int) -> HttpResponse:
    profile = selectors.resident_profile_view_for_staff(
        profile_id=profile_id, actor=request.user, ip_address=client_ip(request)
    )
    return render(request, "staff/resident_detail.html", {"profile": profile})


@staff_only(selectors.PEOPLE_MANAGE)
def people(request: HttpRequest) -> HttpResponse:
    departments = selectors.staff_departments(request.user)
    is_platform_admin = selectors.user_has_role(request.user, {Role.PLATFORM_ADMIN})
    if request.method == "POST":
        form = RoleAssignForm(request.POST, departments=departments)
        if form.is_valid():
            try:
                services.role_assign(
                    user=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    department=form.cleaned_data["department"],
                    jurisdiction=form.cleaned_data["jurisdiction"],
                    actor=request.user,
                    ip_address=client_ip(request),
                )
            except DomainError as error:
                form.add_error("role", str(error.message))
            else:
                messages.success(request, _("The role has been given."))
                return redirect("staff:people")
    else:
        form = RoleAssignForm(departments=departments)
    members = selectors.staff_members(
        department_ids=None if is_platform_admin else [d.pk for d in departments]
    )
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(request, "staff/people.html", {"form": form, "page": page})


@staff_only(selectors.PEOPLE_MANAGE)
@require_POST
def role_revoke(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.role_assignment_get(assignment_id=assignment_id, actor=request.user)
    try:
        services.role_revoke(
            assignment=assignment, actor=request.user, ip_address=client_ip(request)
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The role has been removed."))
    return redirect("staff:people")
