"""Reads of the catalogue: published services, by topic and department, and search."""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from ecitizen.catalogue.models import Service, ServiceVersion
from ecitizen.catalogue.search import ordered, search_service_ids
from ecitizen.catalogue.spec import ServiceSpec, extension_names
from ecitizen.core.compiled import CompiledQuery

#: Labels of the topics definitions may name; other topics show their identifier.
TOPIC_LABELS = {
    "driving": _("Driving and transport"),
    "transport": _("Driving and transport"),
    "parking": _("Parking"),
    "licences": _("Licences and permits"),
    "permits": _("Licences and permits"),
    "planning": _("Planning and building"),
    "building": _("Planning and building"),
    "housing": _("Housing"),
    "business": _("Business and trading"),
    "trading": _("Business and trading"),
    "births-deaths-marriages": _("Births, deaths and marriages"),
    "certificates": _("Certificates and records"),
    "records": _("Certificates and records"),
    "waste": _("Bins and recycling"),
    "environment": _("Environment"),
    "information": _("Information and transparency"),
    "transparency": _("Information and transparency"),
}


def services_published(*, listed: bool | None = True) -> QuerySet[Service]:
    """Services with a published version, with what the lists show: those listed in the
    catalogue (``listed=True``, the default), the others (``False``: used through an
    app's own journey) or all (``None``)."""
    services = Service.objects.filter(current_version__isnull=False)
    if listed is not None:
        services = services.filter(listed=listed)
    return services.select_related("department", "current_version").order_by("slug")


#: :func:`services_published_list`'s query for each value of ``listed``, without the
#: definitions (:func:`_with_definitions` gives them).
_PUBLISHED: dict[bool | None, CompiledQuery[Service]] = {
    listed: CompiledQuery(
        Service,
        lambda listed=listed: services_published(listed=listed).defer(
            "current_version__definition"
        ),
    )
    for listed in (True, False, None)
}

#: Published definitions by their checksum (their content's: the same checksum is the
#: same definition, whichever version row holds it), decoded, kept in the process, the
#: least recently used first: at most :data:`_DEFINITIONS_LIMIT` (past it, the one used
#: longest ago is forgotten). Readers treat them as read-only, as the rows they come from
#: (``WriteOnceJSONField``). Threads of a process share it, under :data:`_definitions_lock`.
_definitions_by_checksum: OrderedDict[str, Any] = OrderedDict()
_definitions_lock = threading.Lock()
_DEFINITIONS_LIMIT = 256


def definitions_forget() -> None:
    """Forget the definitions kept in this process: the next list reads them again, as a
    fresh process does (tests start from there, so that a page's count of queries does
    not depend on which tests ran before it on the same process)."""
    with _definitions_lock:
        _definitions_by_checksum.clear()


def _definitions(checksums: Iterable[str]) -> dict[str, Any]:
    """The definition with each of these checksums: those kept (now the most recently
    used), the others read in one query and kept."""
    found = {}
    missing = set()
    with _definitions_lock:
        for digest in set(checksums):
            definition = _definitions_by_checksum.get(digest)
            if definition is None:
                missing.add(digest)
            else:
                _definitions_by_checksum.move_to_end(digest)
                found[digest] = definition
    if missing:
        read = dict(
            ServiceVersion.objects.filter(checksum__in=missing).values_list(
                "checksum", "definition"
            )
        )
        with _definitions_lock:
            _definitions_by_checksum.update(read)
            while len(_definitions_by_checksum) > _DEFINITIONS_LIMIT:
                _definitions_by_checksum.popitem(last=False)
        found.update(read)
    return found


def versions_give_definitions(versions: Iterable[ServiceVersion | None]) -> None:
    """Give each of ``versions``, read without its definition (``defer``), its
    definition by its checksum (:func:`_definitions`: kept, else read in one query).
    Each definition is some twenty kilobytes of JSON in three languages: read with its
    row, it is written out as text by PostgreSQL and decoded by Python on every request,
    when its checksum tells which it is. ``None`` entries are skipped."""
    present = [version for version in versions if version is not None]
    definitions = _definitions(version.checksum for version in present)
    for version in present:
        # Sets the deferred field: the instance no longer reads it from the database.
        version.definition = definitions[version.checksum]


def _with_definitions(services: list[Service]) -> list[Service]:
    """``services`` read without their current version's definition, each given it
    (:func:`versions_give_definitions`). Returns ``services``."""
    versions_give_definitions(service.current_version for service in services)
    return services


def services_published_list(*, listed: bool | None = True) -> list[Service]:
    """``list(services_published(listed=listed))``, through a query compiled once: the
    pages that list every published service (the catalogue, the officer's queue's
    filter, the performance table) built it on every request, some two thousand Python
    calls. Each current version's definition is given by its checksum
    (:func:`_with_definitions`), not read with it.

    The services are read on every call, but their instances are made again only when
    what was read changed (``CompiledQuery.objects_shared``): they are shared between
    requests, **read-only**."""
    return _with_definitions(_PUBLISHED[listed].objects_shared())


def services_with_extension(name: str) -> list[Service]:
    """Published services whose definition has ``extensions.<name>`` (the street-report
    categories for ``"report"``), in slug order, with their department and current
    version. Chosen here from every published service, whose definitions are kept by
    checksum (:func:`services_published_list`): asked in SQL, the database read every
    version's whole definition to look for the key, on every page and API call that
    lists the categories."""
    found = []
    for service in services_published_list(listed=None):
        version = service.current_version
        if version is not None and name in extension_names(version.definition):
            found.append(service)
    return found


#: :func:`service_published_by_slug`'s query for each value of ``listed``, without the
#: definition (given by its checksum).
_PUBLISHED_BY_SLUG: dict[bool | None, CompiledQuery[Service]] = {
    listed: CompiledQuery(
        Service,
        lambda slug, listed=listed: (
            services_published(listed=listed).defer("current_version__definition").filter(slug=slug)
        ),
        slug=("compiled-sample-slug", Service._meta.get_field("slug")),
    )
    for listed in (True, False, None)
}


def service_published_by_slug(slug: str, *, listed: bool | None = True) -> Service | None:
    """The published service with this slug among ``listed`` ones (as
    :func:`services_published`), or ``None``: read by a query compiled once, its
    definition given by its checksum (:func:`versions_give_definitions`). Read by the
    ORM, the start page and the first steps of an application decoded the service's
    whole definition on each request."""
    service = _PUBLISHED_BY_SLUG[listed].first(slug=slug)
    if service is not None:
        versions_give_definitions([service.current_version])
    return service


def service_get_published(*, slug: str) -> Service:
    """A service of the catalogue (listed), or 404."""
    service = service_published_by_slug(slug)
    if service is None:
        raise Http404
    return service


def service_spec(service: Service) -> ServiceSpec:
    """The definition of the service's current version."""
    if service.current_version is None:
        raise Http404
    return ServiceSpec(service.current_version.definition)


def version_specs(checksums: Iterable[str]) -> dict[str, ServiceSpec]:
    """The definition of each version, by its ``checksum`` (:func:`_definitions`: kept,
    else read in one query). A list's rows name a few versions: reading each row's
    definition with it read the same long text once a row (25 times a page of the
    officer's queue)."""
    return {
        digest: ServiceSpec(definition) for digest, definition in _definitions(checksums).items()
    }


def services_search(*, query: str, language: str) -> list[Service]:
    """The catalogue's services matching ``query`` in ``language``, best first. Taken
    from :func:`services_published_list` (compiled, the definitions kept by checksum):
    read by the ORM, the matches' definitions (twenty kilobytes of JSON each) were
    decoded on every search."""
    ids = search_service_ids(query, language)
    if not ids:
        return []
    wanted = set(ids)
    return ordered([s for s in services_published_list() if s.pk in wanted], ids)


def topic_label(topic: str) -> str:
    return str(TOPIC_LABELS.get(topic) or topic.replace("-", " ").replace("_", " ").capitalize())


def services_by_topic() -> list[tuple[str, list[Service]]]:
    """Published services grouped by topic label, in the active language: each service
    once, under the first topic of its definition (listed under every topic, a service
    appeared two to four times on one page), else under "Other services"."""
    grouped: dict[str, list[Service]] = defaultdict(list)
    for service in services_published_list():
        topics = service.current_version.definition.get("topics") or []  # type: ignore[union-attr]
        label = topic_label(topics[0]) if topics else str(_("Other services"))
        grouped[label].append(service)
    return sorted(grouped.items())


def services_published_among(*, ids: Iterable[int]) -> list[Service]:
    """The published services among those ``ids`` (in slug order), taken from
    :func:`services_published_list`; unknown and unpublished ones are left out."""
    wanted = set(ids)
    if not wanted:
        return []
    return [service for service in services_published_list() if service.pk in wanted]


def service_version_definitions(
    *, department_ids: Iterable[int] | None = None
) -> list[tuple[int, Any]]:
    """(version id, definition) of every published service version (of the given
    departments), for readers that work out what each version allows."""
    from ecitizen.catalogue.models import ServiceVersion

    versions = ServiceVersion.objects.all()
    if department_ids is not None:
        versions = versions.filter(service__department_id__in=list(department_ids))
    return list(versions.values_list("pk", "definition"))


def service_identity_check(
    *, service: Service, user: Any, definition: dict[str, Any] | None = None
) -> None:
    """Raise ``accounts.selectors.IdentityVerificationRequired`` when the service's
    definition (``definition``: a given version's, e.g. a draft's; default: the current
    one) requires a verified identity (``requires_verified_identity``, ``minimum_acr``)
    that ``user`` does not have. For the services that start and submit an application;
    the error's message tells the person to link their national eID."""
    from ecitizen.accounts.selectors import identity_verification_require

    if definition is None:
        if service.current_version is None:
            return
        definition = service.current_version.definition
    spec = ServiceSpec(definition)
    if spec.requires_verified_identity:
        identity_verification_require(user, minimum_acr=spec.minimum_acr or None)
