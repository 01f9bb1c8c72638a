"""The registry apps plug into: conflicting registrations are refused, lookups answer
what was registered, demo loaders run in dependency order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecitizen.core.registry import (
    DemoLoader,
    NavItem,
    PeriodicJob,
    Registry,
    RegistryError,
    RoleSpec,
)


def test_roles_and_capabilities():
    registry = Registry()
    registry.register_role(RoleSpec("clerk", "Clerk", order=2))
    registry.register_role(RoleSpec("boss", "Boss", authority_wide=True, order=1))
    registry.register_role(RoleSpec("helper", "Helper", authority_wide=True, staff=False))
    registry.register_capability("things.read", label="Read things", roles=["clerk"])
    registry.grant("things.read", "boss")
    assert registry.roles_with("things.read") == {"clerk", "boss"}
    assert registry.capabilities_of("boss") == {"things.read"}
    assert registry.staff_roles() == {"clerk", "boss"}
    assert registry.authority_wide_roles() == {"boss", "helper"}
    assert [code for code, _ in registry.role_choices()] == ["boss", "clerk", "helper"]
    # The same registration again (ready() twice) is fine; a different one is refused.
    registry.register_role(RoleSpec("clerk", "Clerk", order=2))
    with pytest.raises(RegistryError, match="role 'clerk'"):
        registry.register_role(RoleSpec("clerk", "Another clerk"))
    with pytest.raises(RegistryError, match="unknown capability"):
        registry.roles_with("things.write")


def test_a_capability_that_includes_others_follows_their_later_grants():
    registry = Registry()
    registry.register_capability("things.read", label="Read things", roles=["clerk"])
    registry.register_capability("things.fix", label="Fix things", roles=["boss"])
    registry.register_capability(
        "things.pages", label="Reach the things pages", includes=["things.read", "things.fix"]
    )
    assert registry.roles_with("things.pages") == {"clerk", "boss"}
    registry.grant("things.fix", "helper")
    assert registry.roles_with("things.pages") == {"clerk", "boss", "helper"}
    assert registry.capabilities_of("helper") == {"things.fix", "things.pages"}


def test_the_roles_worked_out_follow_every_later_registration():
    """roles_with and staff_roles are kept between calls (every staff request reads them):
    a role or capability registered or granted afterwards shows at once."""
    registry = Registry()
    registry.register_role(RoleSpec("clerk", "Clerk"))
    registry.register_capability("things.read", label="Read things", roles=["clerk"])
    registry.register_capability("things.pages", label="Pages", includes=["things.read"])
    assert registry.staff_roles() == {"clerk"}
    assert registry.roles_with("things.pages") == {"clerk"}
    registry.register_role(RoleSpec("boss", "Boss"))
    assert registry.staff_roles() == {"clerk", "boss"}
    registry.register_capability("things.read", label="Read things", roles=["clerk", "boss"])
    assert registry.roles_with("things.pages") == {"clerk", "boss"}
    registry.grant("things.read", "auditor")
    assert registry.roles_with("things.read") == {"clerk", "boss", "auditor"}
    assert registry.roles_with("things.pages") == {"clerk", "boss", "auditor"}


def test_navigation_is_ordered_per_audience():
    registry = Registry()
    registry.register_nav(NavItem("b", "B", "core:home", "staff", order=20))
    registry.register_nav(NavItem("a", "A", "core:home", "staff", order=10))
    registry.register_nav(NavItem("r", "R", "core:home", "resident"))
    assert [item.key for item in registry.navigation("staff")] == ["a", "b"]
    assert [item.key for item in registry.navigation("resident")] == ["r"]
    with pytest.raises(RegistryError):
        registry.register_nav(NavItem("x", "X", "core:home", "nobody"))


def test_jobs_need_a_positive_period():
    registry = Registry()
    registry.register_job(PeriodicJob("tick", ("cases", "tick"), timedelta(hours=1)))
    assert registry.jobs["tick"].command == ("cases", "tick")
    with pytest.raises(RegistryError):
        registry.register_job(PeriodicJob("never", ("x",), timedelta(0)))


def test_demo_loaders_run_after_what_they_name():
    registry = Registry()
    calls = []
    registry.register_demo_loader(DemoLoader("cases", calls.append, after=("people",)))
    registry.register_demo_loader(DemoLoader("people", calls.append))
    registry.register_demo_loader(DemoLoader("bills", calls.append, after=("cases", "people")))
    order = [loader.name for loader in registry.demo_loaders_in_order()]
    assert order == ["people", "cases", "bills"]
    registry.register_demo_loader(DemoLoader("loop", calls.append, after=("loop",)))
    with pytest.raises(RegistryError, match="cycle"):
        registry.demo_loaders_in_order()


def test_subscribers_in_registration_order():
    class Happened:
        pass

    registry = Registry()

    def first(event):
        return None

    def second(event):
        return None

    registry.subscribe(Happened, first)
    registry.subscribe(Happened, second)
    registry.subscribe(Happened, first)
    assert registry.subscribers_of(Happened) == [first, second]
    assert registry.subscribers_of(object) == []


def test_account_links_are_on_the_account_page_not_in_the_header(client, resident):
    """An app's "account" item (street reports' "Your reports") is listed on the account
    page, and the header keeps its one row."""
    from django.urls import reverse

    client.force_login(resident)
    page = client.get(reverse("accounts:home")).content.decode()
    body = page.split('id="main-content"', 1)[1]
    header = page.split('id="main-content"', 1)[0]
    assert reverse("reports:mine") in body
    assert reverse("reports:mine") not in header
