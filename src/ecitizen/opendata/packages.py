"""A dataset as CKAN shows it (a "package" dict): what ``package_show`` returns, and what
each revision keeps as its snapshot.

URLs here are site-relative ("/dataset/…"); the API makes them absolute for the request's
host (:func:`absolutise`). Titles and descriptions in every language travel as
``title_translated`` / ``notes_translated``, as ckanext-fluent writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.urls import reverse

from ecitizen.accounts.models import Department
from ecitizen.catalogue.spec import localised
from ecitizen.opendata.models import Dataset, Resource
from ecitizen.opendata.vocabularies import EU_FREQUENCY, EU_THEME, LICENCES, THEMES

#: CKAN's package states for ours: a withdrawn dataset is "deleted" to harvesters (they
#: drop it), while its page stays readable with the reason.
CKAN_STATE = {
    Dataset.State.DRAFT: "draft",
    Dataset.State.PUBLISHED: "active",
    Dataset.State.WITHDRAWN: "deleted",
}


def iso(value: Any) -> str | None:
    """CKAN's timestamp form: naive ISO 8601 in UTC, microseconds included."""
    if value is None:
        return None
    if hasattr(value, "utcoffset") and value.utcoffset() is not None:
        from datetime import UTC

        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value.isoformat())


def organization_dict(department: Department) -> dict[str, Any]:
    """A department as a CKAN organisation (its slug is both its id and its name)."""
    return {
        "id": department.slug,
        "name": department.slug,
        "title": localised({settings.LANGUAGE_CODE: department.name, **department.names}),
        "display_name": localised({settings.LANGUAGE_CODE: department.name, **department.names}),
        "type": "organization",
        "description": "",
        "image_url": "",
        "created": None,
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }


def group_dict(code: str) -> dict[str, Any]:
    """An EU data theme as a CKAN group (its code, lower case, is its name)."""
    return {
        "id": code.lower(),
        "name": code.lower(),
        "title": str(THEMES[code]),
        "display_name": str(THEMES[code]),
        "description": "",
        "image_display_url": "",
        "type": "group",
        "uri": EU_THEME + code,
    }


def resource_download_path(resource: Resource) -> str:
    """Where the resource's file is downloaded (its own URL for a link-only resource)."""
    if not resource.file and resource.url:
        return resource.url
    filename = resource.file.name.rsplit("/", 1)[-1] if resource.file else "data"
    return reverse(
        "opendata:resource_download",
        kwargs={"name": resource.dataset.name, "resource_id": resource.id, "filename": filename},
    )


def resource_dict(resource: Resource) -> dict[str, Any]:
    loaded = resource.datastore_state == Resource.DatastoreState.LOADED
    return {
        "id": str(resource.id),
        "package_id": str(resource.dataset_id),
        "name": resource.name(settings.LANGUAGE_CODE),
        "name_translated": dict(resource.names),
        "description": resource.description(settings.LANGUAGE_CODE),
        "description_translated": dict(resource.descriptions),
        "format": resource.format,
        "mimetype": resource.media_type,
        "url": resource_download_path(resource),
        "url_type": "upload" if resource.file else "",
        "size": resource.size,
        "hash": f"sha256:{resource.checksum}" if resource.checksum else "",
        "created": iso(resource.created),
        "last_modified": iso(resource.modified),
        "metadata_modified": iso(resource.modified),
        "position": resource.position,
        "state": "active",
        "datastore_active": loaded,
        "datastore_rows": resource.datastore_rows if loaded else None,
        "schema": resource.schema,
    }


def package_dict(dataset: Dataset, resources: Iterable[Resource] | None = None) -> dict[str, Any]:
    """The dataset as ``package_show`` returns it (site-relative URLs)."""
    if resources is None:
        resources = dataset.resources.all()
    resource_dicts = [resource_dict(r) for r in resources]
    licence = LICENCES.get(dataset.licence_id)
    default = settings.LANGUAGE_CODE
    extras = {
        "issued": iso(dataset.issued),
        "modified": iso(dataset.modified),
        "frequency": EU_FREQUENCY + dataset.frequency if dataset.frequency else None,
        "theme": [EU_THEME + code for code in dataset.themes] or None,
        "temporal_start": dataset.temporal_start.isoformat() if dataset.temporal_start else None,
        "temporal_end": dataset.temporal_end.isoformat() if dataset.temporal_end else None,
        "spatial_uri": dataset.ward.code if dataset.ward_id and dataset.ward else None,
        "contact_name": dataset.contact_name or None,
        "contact_email": dataset.contact_email or None,
        "revision": str(dataset.revision),
        "withdrawn_reason": dataset.withdrawn_reason or None,
    }
    return {
        "id": str(dataset.id),
        "name": dataset.name,
        "title": dataset.title(default),
        "title_translated": dict(dataset.titles),
        "notes": dataset.description(default),
        "notes_translated": dict(dataset.descriptions),
        "type": "dataset",
        "state": CKAN_STATE[Dataset.State(dataset.state)],
        "private": dataset.private,
        "author": None,
        "author_email": None,
        "maintainer": dataset.contact_name or None,
        "maintainer_email": dataset.contact_email or None,
        "license_id": dataset.licence_id,
        "license_title": licence.title if licence else dataset.licence_id,
        "license_url": licence.url if licence else None,
        "isopen": bool(licence and licence.od_conformance == "approved"),
        "url": reverse("opendata:dataset", kwargs={"name": dataset.name}),
        "version": dataset.version or None,
        "metadata_created": iso(dataset.created),
        "metadata_modified": iso(dataset.modified),
        "creator_user_id": None,
        "owner_org": dataset.department.slug,
        "organization": organization_dict(dataset.department),
        "groups": [group_dict(code) for code in dataset.themes if code in THEMES],
        "tags": [
            {"id": tag, "name": tag, "display_name": tag, "state": "active", "vocabulary_id": None}
            for tag in dataset.keywords
        ],
        "num_tags": len(dataset.keywords),
        "resources": resource_dicts,
        "num_resources": len(resource_dicts),
        "extras": [
            {"key": key, "value": value if isinstance(value, str) else _json(value)}
            for key, value in extras.items()
            if value is not None
        ],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def absolutise(package: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``package`` with its site-relative URLs made absolute under ``base_url``
    ("https://data.example.org"), as CKAN clients expect."""
    base = base_url.rstrip("/")

    def fix(url: Any) -> Any:
        return base + url if isinstance(url, str) and url.startswith("/") else url

    package = {**package, "url": fix(package.get("url"))}
    package["resources"] = [{**r, "url": fix(r.get("url"))} for r in package.get("resources", [])]
    return package
