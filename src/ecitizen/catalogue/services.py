"""Publishing service definitions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from ecitizen.accounts.models import Department
from ecitizen.catalogue.definitions import InvalidDefinition, Problem, checksum, read_definitions
from ecitizen.catalogue.models import Service, ServiceVersion
from ecitizen.catalogue.search import search_entries_rebuild
from ecitizen.core.services import audit_record


@dataclass(frozen=True)
class PublishResult:
    slug: str
    version: int
    changed: bool


def _template_problems(definitions: list[tuple[str, dict[str, Any]]]) -> list[Problem]:
    """Notification templates and issued-document templates must exist in the platform."""
    from ecitizen.documents.render import template_exists
    from ecitizen.notifications.selectors import notification_event_exists, notification_events

    problems = []
    for name, data in definitions:
        for index, notification in enumerate(data.get("notifications", [])):
            if not notification_event_exists(notification["template"]):
                problems.append(
                    Problem(
                        name,
                        f"notifications[{index}].template",
                        f"{notification['template']!r} is not a notification template "
                        f"(templates: {', '.join(notification_events())})",
                    )
                )
        document = data.get("issued_document")
        if document and not template_exists(document["template"]):
            problems.append(
                Problem(
                    name,
                    "issued_document.template",
                    f"{document['template']!r} is not a document template",
                )
            )
    return problems


@transaction.atomic
def service_definitions_publish(*, directory: Path, actor: Any) -> list[PublishResult]:
    """Publish every definition in ``directory`` as a new version of its service, when
    its content changed; unchanged files publish nothing (the command is idempotent).

    All files are checked first and nothing is published if any is wrong: raises
    :class:`InvalidDefinition` with every problem. Each new version is audited.
    """
    definitions = read_definitions(directory)
    departments = {d.slug: d for d in Department.objects.all()}
    missing = [
        Problem(name, "department", f"{data['department']!r} is not a department of this authority")
        for name, data in definitions
        if data["department"] not in departments
    ]
    missing += _template_problems(definitions)
    if missing:
        raise InvalidDefinition(missing)

    results = []
    for name, data in definitions:
        digest = checksum(data)
        service, _created = Service.objects.select_for_update().get_or_create(
            slug=data["slug"], defaults={"department": departments[data["department"]]}
        )
        latest = service.versions.order_by("-number").first()
        if latest is not None and latest.checksum == digest:
            results.append(PublishResult(service.slug, latest.number, changed=False))
            continue
        version = ServiceVersion.objects.create(
            service=service,
            number=(latest.number + 1) if latest else 1,
            definition=data,
            checksum=digest,
            source_file=name,
            published_by=actor,
        )
        service.current_version = version
        service.department = departments[data["department"]]
        service.listed = bool(data.get("listed", True))
        service.save(update_fields=["current_version", "department", "listed"])
        search_entries_rebuild(service)
        audit_record(
            action="catalogue.service_published",
            actor=actor,
            obj=version,
            changes={
                "version": {"before": latest.number if latest else None, "after": version.number}
            },
        )
        results.append(PublishResult(service.slug, version.number, changed=True))
    return results
