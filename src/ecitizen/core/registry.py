"""The registry that apps plug themselves into, from their ``AppConfig.ready()``.

``core`` names no app: each app registers what it brings — roles and the capabilities they
hold, navigation items, notification templates, periodic jobs, subscriptions to domain
events, panels on other apps' pages, the folders of the media storage its rows name and
its part of the demo — and ``core`` (and every other app) reads them back from here. See
``docs/extending.md``.

Registration happens once per process, while Django populates its apps. Registering the
same name twice with the same definition is allowed (``ready()`` may run twice in tests);
with a different one it raises :class:`RegistryError`, so two apps cannot silently claim
one name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any


class RegistryError(Exception):
    """A registration that contradicts an earlier one, or names something unknown."""


@dataclass(frozen=True)
class RoleSpec:
    """A staff or helper role that an administrator can give.

    ``authority_wide``: held without a department (platform administrator, auditor,
    assisted-digital helper); it covers every department. ``staff``: an official (staff
    pages, mandatory second factor); helpers are not officials. ``label`` is a lazy
    translation. ``order`` sorts roles in forms and lists.
    """

    code: str
    label: Any
    authority_wide: bool = False
    staff: bool = True
    order: int = 100


@dataclass(frozen=True)
class Capability:
    """Something an official may do, e.g. ``cases.work`` or ``opendata.publish``, and
    the roles that hold it. Access rules and remit checks name capabilities, never role
    sets, so a new role is one registration. ``includes``: capabilities whose holders hold
    this one too, whatever roles are granted those later (e.g. reaching an app's staff
    pages, for whoever may do any of its staff work)."""

    name: str
    label: Any
    roles: frozenset[str]
    includes: tuple[str, ...] = ()


NAV_AUDIENCES = frozenset({"everyone", "visitor", "resident", "staff", "account"})


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation. ``audience``: ``"everyone"``, ``"visitor"`` (not
    signed in), ``"resident"`` (anyone signed in) or ``"staff"`` (officials) in the
    header; ``"account"``: a link on the resident's account page ("Your business with
    us"), for what is theirs but need not take a place in the header's one row.

    ``capability``: which officials see a staff item (``None``: every official).
    ``order``: smaller first. ``section``: URL path prefixes that make it the current
    section (by default the item's own address).
    """

    key: str
    label: Any
    url_name: str
    audience: str
    capability: str | None = None
    order: int = 100
    section: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeriodicJob:
    """An idempotent job run by ``ecitizen scheduler`` every ``every``.

    ``command`` is a management command and its arguments (``("cases", "tick")``): a
    job is what an operator could run by hand. A missed run is caught up once.
    """

    name: str
    command: tuple[str, ...]
    every: timedelta
    description: str = ""


@dataclass(frozen=True)
class PruneHook:
    """A clean-up that ``ecitizen housekeeping`` (a daily job) runs: ``prune()`` deletes
    rows an app no longer needs (stale throttle counts, for instance) and returns how
    many; ``label`` names them in its output ("stale sign-in failure counts")."""

    name: str
    prune: Callable[[], int]
    label: str


@dataclass(frozen=True)
class StoredFiles:
    """Files an app writes to the media storage under ``prefix``, a folder of its own
    (``"documents/"``), each named by a row. ``columns`` are the ``"app_label.Model.field"``
    that hold their names (every ``FileField`` of every model counts as well, declared or
    not); ``referenced(names)``, for an app whose rows also name files elsewhere (the
    open-data revisions' snapshots), returns those of ``names`` (all under ``prefix``) that
    must be kept.

    ``ecitizen housekeeping`` deletes a file under ``prefix`` that none of them names once
    it is older than ``STORAGE_ORPHAN_GRACE_HOURS`` (``core/stored_files.py``): an app must
    name each file it writes there within that time, and keep there nothing else."""

    name: str
    prefix: str
    columns: tuple[str, ...] = ()
    referenced: Callable[[Sequence[str]], Iterable[str]] | None = None


@dataclass(frozen=True)
class DemoPlace:
    """A department (``code``: its slug) or a ward (``code``: its code) of the demo
    authority, with its name in the site's other languages (``names``: language code to
    name)."""

    code: str
    name: str
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoPerson:
    """One of the demo authority's people; ``local`` is their email address before the
    ``@``. An official has a ``role`` (a role code), the ``departments`` it is held in
    (slugs; none for an authority-wide role), a ``ward`` that confines it (a ward code)
    and the ``totp_secret`` their authenticator is enrolled with (``None``: no second
    factor yet). A resident has none of these."""

    local: str
    name: str
    role: str = ""
    departments: tuple[str, ...] = ()
    ward: str | None = None
    totp_secret: str | None = None


@dataclass(frozen=True)
class DemoCity:
    """The fictional authority the demo loads, described by the ``demo`` app and handed
    to every loader on the :class:`DemoContext`, so that no app imports the demo app.

    ``name`` is also the town of every address; ``password`` is every demo account's
    (printed, never a real secret); ``staff`` are the officials in the order they are
    printed (the platform administrator first: they give the others their roles);
    ``residents`` the named residents, before ``generated_residents`` more made up from
    the seed; ``service_definitions`` the folder of service definitions to publish;
    ``answers`` realistic text answers by question id and ``generic_answers`` those for
    any other text question; ``parking_department`` (a slug) issues the parking fines,
    for parking in ``parking_streets``.
    """

    name: str
    email_domain: str
    password: str
    departments: tuple[DemoPlace, ...]
    wards: tuple[DemoPlace, ...]
    streets: tuple[str, ...]
    staff: tuple[DemoPerson, ...]
    residents: tuple[DemoPerson, ...]
    generated_residents: int
    service_definitions: Path
    answers: Mapping[str, Sequence[str]]
    generic_answers: tuple[str, ...]
    parking_department: str
    parking_streets: tuple[str, ...]

    def email(self, local: str) -> str:
        """The demo address whose part before the ``@`` is ``local``."""
        return f"{local}@{self.email_domain}"


@dataclass
class DemoContext:
    """What the demo loaders share: the seed every random choice derives from, the
    ``city`` they load, the demo's residents (users) once the people are loaded (the
    named ones first), the accounts printed at the end (anything with ``email``,
    ``name``, ``role`` and ``totp_secret``), ``notes``: paragraphs printed after them
    (how to try what a loader made), and ``extra`` for what one loader hands to the next
    under a name of its own."""

    seed: int
    city: DemoCity
    residents: list[Any] = field(default_factory=list)
    accounts: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoLoader:
    """An app's part of the Riverton demo. ``load(context)`` must be idempotent and use
    the app's services; ``after`` names the loaders that must run first."""

    name: str
    load: Callable[[Any], Any]
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Panel:
    """A template an app adds to a page of another app, at a ``slot`` that page names
    (``{% panels "cases.staff_case" %}``), without the page's app knowing it.

    The template is rendered with the page's context; ``context(page_context)``, when
    given, returns more variables for it (the panel's own reads), so that the page's view
    need not know what the panel shows. ``order``: smaller first. A panel decides itself
    whether it has anything to show (it renders nothing otherwise)."""

    slot: str
    template: str
    order: int = 0
    context: Callable[[Any], Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class Identity:
    """What ``core`` needs to know about people, provided by the identity app
    (``accounts``) so that ``core`` imports no app.

    - ``holds(user, roles)``: the user holds one of ``roles`` (in any department);
    - ``roles_held(user)``: the roles they hold in some department (what a page that
      checks many capabilities at once, the navigation, reads once);
    - ``has_second_factor(user)``: they have set up a second factor;
    - ``session_used_second_factor(request)``: this session signed in with it;
    - ``preferences_update(user=, data=, actor=)``: save display and language choices.
    """

    holds: Callable[[Any, frozenset[str]], bool]
    roles_held: Callable[[Any], frozenset[str]]
    has_second_factor: Callable[[Any], bool]
    session_used_second_factor: Callable[[Any], bool]
    preferences_update: Callable[..., Any]


@dataclass(frozen=True)
class SecretStore:
    """Encrypted values outside the encrypted model fields (e.g. MFA secrets) that
    ``ecitizen keys rotate`` must re-encrypt: ``pending(key_id=)`` counts those not yet
    under ``key_id``; ``rotate(progress=)`` re-encrypts them and returns how many."""

    name: str
    pending: Callable[..., int]
    rotate: Callable[..., int]


@dataclass(frozen=True)
class ApiRouter:
    """An app's part of the public REST API: ``router`` is the dotted path of its
    django-ninja ``Router`` (usually ``ecitizen.<app>.api.router``), imported when the
    API is built, mounted at ``/api/v1/<prefix>/``; ``tag`` groups its operations in the
    OpenAPI document."""

    prefix: str
    router: str
    tag: str


@dataclass(frozen=True)
class WebhookEvent:
    """A domain event that integrators may subscribe to as a webhook.

    ``name`` is the stable name a subscription and a delivery carry
    (``"case.submitted"``); ``event_type`` the :class:`~ecitizen.core.events.DomainEvent`
    class it is made from; ``payload(event)`` the JSON body's ``data`` (only what the
    receiving client may see: references, codes, states, no personal field);
    ``audience(event)`` describes who may receive it (the resident it concerns, the
    department and ward it belongs to), in the terms the ``api`` app's subscriptions
    check. ``label``: a lazy translation shown to integrators.

    ``audience(event)`` returns ``{"user_id": ..., "department_id": ..., "ward_id": ...}``
    (any may be ``None``): an app acting for a resident receives the event only when
    ``user_id`` is that resident; a back-office system only when its department (and
    ward, when it has one) covers ``department_id`` and ``ward_id``. ``scopes``: the
    client must also have been granted one of these (e.g. ``applications:read`` or
    ``cases:read`` for a case's events; empty: ``webhooks`` is enough). ``applies(event)``,
    when given, says whether this webhook event is made from that domain event at all
    (``report.updated`` is a ``CaseStateChanged`` of a street report's case)."""

    name: str
    label: Any
    event_type: type
    payload: Callable[[Any], Mapping[str, Any]]
    audience: Callable[[Any], Mapping[str, Any]]
    scopes: tuple[str, ...] = ()
    applies: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class PersonalData:
    """What one app holds about residents, for their data rights (the ``privacy`` app).

    ``name`` (``"cases.applications"``) and ``label`` (a lazy translation, "Your
    applications") name it in the export and in the statement after erasure. The records
    of processing (GDPR article 30) are generated from ``purpose``, ``lawful_basis`` (a
    code of article 6: ``public_task``, ``legal_obligation``, ``consent``, ``contract``,
    ``vital_interests``, ``legitimate_interests``), ``categories`` (of personal data),
    ``recipients`` and ``retention`` (lazy translations). ``export(user)`` returns what the
    resident may take away (the ``privacy`` app documents its shape). ``order``: smaller
    first in the export and the records."""

    name: str
    label: Any
    purpose: Any
    lawful_basis: str
    categories: tuple[Any, ...]
    recipients: Any
    retention: Any
    export: Callable[[Any], Any]
    order: int = 100


@dataclass(frozen=True)
class ErasedPart:
    """One line of an :class:`Erasure`: ``label`` (a lazy translation, with no
    placeholders: the privacy app stores its English text and translates it again when
    the statement is read) names what, ``count`` how many records, and for what is kept,
    ``reason`` (a lazy translation, same rule) why: the law or purpose that requires it and
    for how long."""

    label: Any
    count: int
    reason: Any = None


@dataclass(frozen=True)
class Erasure:
    """What one app's :class:`Eraser` erased (deleted, anonymised or made unreadable by
    destroying its key) and what it kept and why, for one resident. It names categories
    and counts, never a personal value: it is stored with the request and shown to the
    resident and to the data-protection officer."""

    name: str
    erased: tuple[ErasedPart, ...] = ()
    kept: tuple[ErasedPart, ...] = ()


@dataclass(frozen=True)
class Eraser:
    """How an app erases a resident's data once the data-protection officer approved their
    request. ``erase(user, actor)`` erases or anonymises what it may, keeps what the law
    requires, and returns an :class:`Erasure` saying which is which; it runs inside the
    privacy app's transaction, defers anything that is not transactional (deleting a
    stored file) to ``transaction.on_commit`` and writes its own audit events.
    ``plan(user)`` returns the :class:`Erasure` that ``erase`` would return now, without
    changing anything (the officer's view before deciding). ``name`` matches the app's
    :class:`PersonalData` name; ``order``: smaller first (the accounts eraser, which
    replaces the email address and name, runs last)."""

    name: str
    erase: Callable[[Any, Any], Erasure]
    plan: Callable[[Any], Erasure]
    order: int = 100


@dataclass(frozen=True)
class RetentionRule:
    """A rule that removes or anonymises records past their time (expired drafts, old
    notifications, closed cases after N years). ``plan(now)`` counts what ``apply(now)``
    would change, without changing anything; ``apply(now)`` does it and returns how many
    records it changed. Both take the time as an argument, so a rule is idempotent and
    testable. ``label`` says what it does in plain words."""

    name: str
    label: Any
    plan: Callable[[Any], int]
    apply: Callable[[Any], int]
    #: The key of its period in ``RETENTION_PERIODS`` (documented there), shown with it.
    period: str = ""


@dataclass
class Registry:
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    capabilities: dict[str, Capability] = field(default_factory=dict)
    nav_items: dict[str, NavItem] = field(default_factory=dict)
    message_dirs: list[Path] = field(default_factory=list)
    jobs: dict[str, PeriodicJob] = field(default_factory=dict)
    prune_hooks: dict[str, PruneHook] = field(default_factory=dict)
    stored_files: dict[str, StoredFiles] = field(default_factory=dict)
    demo_loaders: dict[str, DemoLoader] = field(default_factory=dict)
    # event type (a class) -> subscribers, in registration order
    subscribers: dict[type, list[Callable[[Any], None]]] = field(default_factory=dict)
    # (event type, subscriber) -> the condition asked when publishing (see subscribe)
    subscription_conditions: dict[tuple[type, Callable[[Any], None]], Callable[[Any], bool]] = (
        field(default_factory=dict)
    )
    secret_stores: dict[str, SecretStore] = field(default_factory=dict)
    # slot -> panels shown there, in registration order (see :meth:`panels_for`)
    panels: dict[str, list[Panel]] = field(default_factory=dict)
    api_routers: dict[str, ApiRouter] = field(default_factory=dict)
    webhook_events: dict[str, WebhookEvent] = field(default_factory=dict)
    personal_data: dict[str, PersonalData] = field(default_factory=dict)
    erasers: dict[str, Eraser] = field(default_factory=dict)
    retention_rules: dict[str, RetentionRule] = field(default_factory=dict)
    # name -> callable returning Prometheus metric families (see register_metric_source)
    metric_source_table: dict[str, Callable[[], Iterable[Any]]] = field(default_factory=dict)
    _identity: Identity | None = None
    #: What :meth:`roles_with` and :meth:`staff_roles` worked out, read on every staff
    #: request (the navigation checks two dozen capabilities): forgotten whenever a role
    #: or a capability is registered or granted.
    _roles_memo: dict[str | None, frozenset[str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    # --- writing (from AppConfig.ready) ---------------------------------------------------

    @staticmethod
    def _put(table: dict[str, Any], key: str, value: Any, kind: str) -> None:
        existing = table.get(key)
        if existing is not None and existing != value:
            raise RegistryError(f"{kind} {key!r} is already registered differently")
        table[key] = value

    def register_role(self, role: RoleSpec) -> None:
        self._roles_memo.clear()
        self._put(self.roles, role.code, role, "role")

    def register_capability(
        self, name: str, *, label: Any, roles: Iterable[str] = (), includes: Iterable[str] = ()
    ) -> Capability:
        """Declare a capability and the roles that hold it, directly or as holders of the
        capabilities it ``includes``. Another app may grant it to more roles with
        :meth:`grant`."""
        self._roles_memo.clear()
        capability = Capability(name, label, frozenset(roles), tuple(includes))
        existing = self.capabilities.get(name)
        if (
            existing is not None
            and existing.roles <= capability.roles
            and existing.includes == capability.includes
        ):
            # ready() running again, or a definition that includes later grants
            capability = Capability(
                name, label, existing.roles | capability.roles, capability.includes
            )
            self.capabilities[name] = capability
            return capability
        self._put(self.capabilities, name, capability, "capability")
        return capability

    def grant(self, name: str, *roles: str) -> None:
        """Give an existing capability to more roles (a new role's app does this)."""
        capability = self.capability(name)
        self._roles_memo.clear()
        self.capabilities[name] = Capability(
            name, capability.label, capability.roles | frozenset(roles), capability.includes
        )

    def register_nav(self, item: NavItem) -> None:
        if item.audience not in NAV_AUDIENCES:
            raise RegistryError(
                f"navigation item {item.key!r}: audience must be one of {sorted(NAV_AUDIENCES)}"
            )
        self._put(self.nav_items, item.key, item, "navigation item")

    def register_message_dir(self, path: Path) -> None:
        """A folder of notification templates (one sub-folder per event) shipped next to
        an app's code."""
        path = Path(path)
        if path not in self.message_dirs:
            self.message_dirs.append(path)

    def register_job(self, job: PeriodicJob) -> None:
        if job.every <= timedelta(0):
            raise RegistryError(f"job {job.name!r}: its period must be positive")
        self._put(self.jobs, job.name, job, "job")

    def register_prune_hook(self, hook: PruneHook) -> None:
        """Run ``hook`` at each ``ecitizen housekeeping``, in registration order."""
        self._put(self.prune_hooks, hook.name, hook, "prune hook")

    def register_stored_files(self, stored: StoredFiles) -> None:
        """Declare a folder of the media storage whose files rows name (see
        :class:`StoredFiles`). The prefix must be a folder: not empty, relative, ending in
        ``/``, so that no declaration can put the whole storage, or another folder whose
        name it starts, in the sweep's reach."""
        parts = stored.prefix.split("/")
        if (
            not stored.prefix.endswith("/")
            or stored.prefix.startswith("/")
            or any(part in {"", ".", ".."} for part in parts[:-1])
        ):
            raise RegistryError(
                f"stored files {stored.name!r}: the prefix must be a relative folder ending "
                f"in '/', such as 'documents/', not {stored.prefix!r}"
            )
        self._put(self.stored_files, stored.name, stored, "stored files")

    def register_demo_loader(self, loader: DemoLoader) -> None:
        self._put(self.demo_loaders, loader.name, loader, "demo loader")

    def subscribe(
        self,
        event_type: type,
        subscriber: Callable[[Any], None],
        *,
        when: Callable[[Any], bool] | None = None,
    ) -> None:
        """Run ``subscriber(event)`` for every ``event_type`` published (once the
        publishing transaction commits; see ``core.events``).

        ``when(event)``, if given, is asked by the publisher, in its transaction: a
        delivery is queued only when it answers true. It spares a background task for the
        events a subscriber would pass over (a street report's subscriber and the cases
        of other services), so it must answer exactly that: true for every event the
        subscriber has work for. It should read nothing, or a cheap query or two, and must
        not write; one that raises is taken as a yes (``core.events``). The same
        subscriber registered again must be registered the same way."""
        handlers = self.subscribers.setdefault(event_type, [])
        key = (event_type, subscriber)
        if subscriber in handlers:
            if self.subscription_conditions.get(key) is not when:
                raise RegistryError(
                    f"{subscriber!r} already subscribes to {event_type.__name__} with "
                    "another condition"
                )
            return
        handlers.append(subscriber)
        if when is not None:
            self.subscription_conditions[key] = when

    def unsubscribe(self, event_type: type, subscriber: Callable[[Any], None]) -> None:
        """Undo :meth:`subscribe` (for tests that subscribe for their own time)."""
        handlers = self.subscribers.get(event_type, [])
        if subscriber in handlers:
            handlers.remove(subscriber)
        if not handlers:
            self.subscribers.pop(event_type, None)
        self.subscription_conditions.pop((event_type, subscriber), None)

    def register_panel(
        self,
        slot: str,
        template: str,
        order: int = 0,
        *,
        context: Callable[[Any], Mapping[str, Any]] | None = None,
    ) -> None:
        """Show ``template`` on the page that names ``slot`` (see :class:`Panel`). The
        same template registered again at the same slot must be registered the same way."""
        panel = Panel(slot, template, order, context)
        shown = self.panels.setdefault(slot, [])
        for existing in shown:
            if existing.template == template:
                if existing != panel:
                    raise RegistryError(
                        f"panel {template!r} at {slot!r} is already registered differently"
                    )
                return
        shown.append(panel)

    def register_identity(self, identity: Identity) -> None:
        """Called once, by the identity app."""
        if self._identity is not None and self._identity != identity:
            raise RegistryError("the identity provider is already registered")
        self._identity = identity

    def register_secret_store(self, store: SecretStore) -> None:
        self._put(self.secret_stores, store.name, store, "secret store")

    def register_api_router(self, router: ApiRouter) -> None:
        """Mount an app's API router under ``/api/v1/<prefix>/`` (see :class:`ApiRouter`)."""
        self._put(self.api_routers, router.prefix, router, "API router")

    def register_webhook_event(self, event: WebhookEvent) -> None:
        """Offer ``event`` to integrators' webhook subscriptions."""
        self._put(self.webhook_events, event.name, event, "webhook event")

    def register_personal_data(self, data: PersonalData) -> None:
        """Declare what an app holds about residents (see :class:`PersonalData`)."""
        self._put(self.personal_data, data.name, data, "personal data")

    def register_eraser(self, eraser: Eraser) -> None:
        """Declare how an app erases a resident's data (see :class:`Eraser`)."""
        self._put(self.erasers, eraser.name, eraser, "eraser")

    def register_retention_rule(self, rule: RetentionRule) -> None:
        """Apply ``rule`` at each run of the retention job (see :class:`RetentionRule`)."""
        self._put(self.retention_rules, rule.name, rule, "retention rule")

    def register_metric_source(self, name: str, collect: Callable[[], Iterable[Any]]) -> None:
        """Show what ``collect()`` returns on ``/metrics``: Prometheus metric families
        (``prometheus_client.core.GaugeMetricFamily``...) read from the database at each
        scrape. It must be cheap (a few aggregate queries) and name its metrics
        ``ecitizen_<app>_...``; docs/operations.md lists them and what to alert on."""
        self._put(self.metric_source_table, name, collect, "metric source")

    # --- reading ----------------------------------------------------------------------------

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            raise RegistryError("no identity provider is registered (is accounts installed?)")
        return self._identity

    def role(self, code: str) -> RoleSpec:
        try:
            return self.roles[code]
        except KeyError:
            raise RegistryError(f"unknown role {code!r}") from None

    def capability(self, name: str) -> Capability:
        try:
            return self.capabilities[name]
        except KeyError:
            raise RegistryError(f"unknown capability {name!r}") from None

    def roles_with(self, capability: str) -> frozenset[str]:
        """The roles that hold ``capability``, directly or through those it includes."""
        roles = self._roles_memo.get(capability)
        if roles is None:
            found = self.capability(capability)
            roles = found.roles.union(*(self.roles_with(name) for name in found.includes))
            self._roles_memo[capability] = roles
        return roles

    def capabilities_of(self, role: str) -> frozenset[str]:
        return frozenset(name for name in self.capabilities if role in self.roles_with(name))

    def staff_roles(self) -> frozenset[str]:
        roles = self._roles_memo.get(None)
        if roles is None:
            roles = frozenset(code for code, spec in self.roles.items() if spec.staff)
            self._roles_memo[None] = roles
        return roles

    def authority_wide_roles(self) -> frozenset[str]:
        return frozenset(code for code, spec in self.roles.items() if spec.authority_wide)

    def role_choices(self) -> list[tuple[str, Any]]:
        """(code, label) of every role, in their order, for forms."""
        ordered = sorted(self.roles.values(), key=lambda r: (r.order, r.code))
        return [(role.code, role.label) for role in ordered]

    def navigation(self, audience: str) -> list[NavItem]:
        items = [item for item in self.nav_items.values() if item.audience == audience]
        return sorted(items, key=lambda item: (item.order, item.key))

    def demo_loaders_in_order(self) -> list[DemoLoader]:
        """The demo loaders, each after those it names (a stable topological order)."""
        ordered: list[DemoLoader] = []
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            if name in visiting:
                raise RegistryError(f"demo loaders depend on each other in a cycle at {name!r}")
            if name not in self.demo_loaders:
                raise RegistryError(f"a demo loader runs after {name!r}, which is not registered")
            visiting.add(name)
            for before in self.demo_loaders[name].after:
                visit(before)
            visiting.discard(name)
            done.add(name)
            ordered.append(self.demo_loaders[name])

        for name in sorted(self.demo_loaders):
            visit(name)
        return ordered

    def panels_for(self, slot: str) -> list[Panel]:
        """The panels of ``slot``, by ``order`` then in registration order."""
        return sorted(self.panels.get(slot, []), key=lambda panel: panel.order)

    def subscribers_of(self, event_type: type) -> list[Callable[[Any], None]]:
        return list(self.subscribers.get(event_type, []))

    def subscription_condition(
        self, event_type: type, subscriber: Callable[[Any], None]
    ) -> Callable[[Any], bool] | None:
        """The ``when`` the subscriber was registered with for ``event_type``, if any."""
        return self.subscription_conditions.get((event_type, subscriber))

    def personal_data_in_order(self) -> list[PersonalData]:
        return sorted(self.personal_data.values(), key=lambda data: (data.order, data.name))

    def erasers_in_order(self) -> list[Eraser]:
        return sorted(self.erasers.values(), key=lambda eraser: (eraser.order, eraser.name))

    def metric_sources(self) -> list[tuple[str, Callable[[], Iterable[Any]]]]:
        return sorted(self.metric_source_table.items())


#: The one registry of the process.
registry = Registry()
