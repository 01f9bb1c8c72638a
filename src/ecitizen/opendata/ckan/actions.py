"""The CKAN actions of the catalogue: reads anyone may call, and the writes of API tokens
with a publisher's rights. Each follows CKAN's parameters and result shapes (CKAN 2.10,
``ckan/logic/action/get.py`` and ``create.py``); the docstrings are ``help_show``'s text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Department
from ecitizen.core.errors import PermissionDenied
from ecitizen.opendata import packages, selectors, services
from ecitizen.opendata.ckan import fq, params
from ecitizen.opendata.ckan.registry import (
    ACTIONS,
    ActionContext,
    NotAuthorized,
    NotFound,
    SearchError,
    SearchQueryError,
    ValidationError,
    action,
)
from ecitizen.opendata.models import Dataset, Resource
from ecitizen.opendata.vocabularies import EU_FREQUENCY, EU_THEME, FORMATS, LICENCES, THEMES

#: The most datasets one ``package_search`` returns (CKAN's ``ckan.search.rows_max``).
ROWS_MAX = 1000
#: CKAN's default order of search results.
DEFAULT_SORT = "score desc, metadata_modified desc"
#: The parameters ``package_search`` takes (CKAN's, less Solr's that change nothing here).
SEARCH_PARAMETERS = {
    "q", "fq", "fq_list", "rows", "start", "sort", "facet", "facet.field", "facet.limit",
    "facet.mincount", "include_private", "include_drafts", "include_deleted",
    "use_default_schema", "wt", "qf", "bf", "boost", "tie", "defType", "mm", "df", "extras",
}  # fmt: skip
#: How many organisations/groups ``*_list`` returns at most (CKAN's defaults).
LIST_MAX = 1000
LIST_ALL_FIELDS_MAX = 25
#: The datasets ``organization_show``/``group_show`` include with ``include_datasets``.
SHOW_DATASETS_MAX = 1000


# --- helpers ---------------------------------------------------------------------------


def _package(context: ActionContext, dataset: Dataset) -> dict[str, Any]:
    return packages.absolutise(packages.package_dict(dataset), context.base_url)


def _resource(context: ActionContext, resource: Resource) -> dict[str, Any]:
    body = packages.resource_dict(resource)
    url = body.get("url")
    if isinstance(url, str) and url.startswith("/"):
        body["url"] = context.base_url.rstrip("/") + url
    return body


def _dataset_for_reader(context: ActionContext, name_or_id: str) -> Dataset:
    try:
        return selectors.dataset_for_reader(user=context.user, name_or_id=name_or_id)
    except selectors.DatasetNotFound:
        raise NotFound(_("Dataset not found")) from None


def _require_token(context: ActionContext) -> Any:
    if context.user is None:
        raise NotAuthorized(_("send an API token in the Authorization header"))
    return context.user


# --- site ------------------------------------------------------------------------------


@action("status_show", side_effect_free=True)
def status_show(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a dictionary with information about the site's configuration.

    :rtype: dictionary
    """
    from ecitizen.core.context_processors import brand

    identity = brand()
    return {
        "site_title": str(identity["service_name"] or identity["name"]),
        "site_description": "",
        "site_url": context.base_url,
        "error_emails_to": None,
        "locale_default": settings.LANGUAGE_CODE,
        "extensions": ["datastore", "dcat", "fluent"],
        # The CKAN API level this one follows (clients test it to choose features).
        "ckan_version": "2.10.0",
    }


@action("help_show", side_effect_free=True)
def help_show(context: ActionContext, data: Mapping[str, Any]) -> str | None:
    """Return the help string for a particular API action.

    :param name: Action function name (eg `user_create`, `package_search`)
    :type name: string
    :returns: The help string for the action function, or None if the function
              does not have a docstring.
    :rtype: string
    """
    name = params.required(data, "name")
    found = ACTIONS.get(name)
    if found is None:
        raise NotFound(_("Action function not found"))
    return found.help or None


@action("license_list", side_effect_free=True)
def license_list(context: ActionContext, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the list of licenses available for datasets on the site.

    :rtype: list of dictionaries
    """
    return [licence.as_ckan() for licence in LICENCES.values()]


# --- datasets --------------------------------------------------------------------------


@action("package_list", side_effect_free=True)
def package_list(context: ActionContext, data: Mapping[str, Any]) -> list[str]:
    """Return a list of the names of the site's datasets (packages).

    Only public, published datasets are listed, by name.

    :param limit: if given, the list of datasets will be broken into pages of
        at most ``limit`` datasets per page and only one page will be returned
        at a time (optional)
    :type limit: int
    :param offset: when ``limit`` is given, the offset to start
        returning packages from
    :type offset: int

    :rtype: list of strings
    """
    limit = params.integer(data, "limit", None)
    offset = params.integer(data, "offset", 0) or 0
    names = selectors.dataset_names(user=context.user)
    if limit:
        return names[offset : offset + limit]
    return names[offset:]


@action("current_package_list_with_resources", side_effect_free=True)
def current_package_list_with_resources(
    context: ActionContext, data: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Return a list of the site's datasets (packages) and their resources.

    The list is sorted most-recently-modified first.

    :param limit: if given, the list of datasets will be broken into pages of
        at most ``limit`` datasets per page (at most 1000; default 10)
    :type limit: int
    :param offset: when ``limit`` is given, the offset to start
        returning packages from
    :type offset: int
    :param page: when ``limit`` is given, which page to return,
        Deprecated: use ``offset``
    :type page: int

    :rtype: list of dictionaries
    """
    limit = params.integer(data, "limit", None, maximum=ROWS_MAX)
    offset = params.integer(data, "offset", 0) or 0
    if "offset" not in data and "page" in data:
        page = params.integer(data, "page", 1, minimum=1) or 1
        offset = (page - 1) * limit if limit else 0
    result = selectors.dataset_search(
        user=context.user,
        query=selectors.SearchQuery(
            sort="metadata_modified desc", start=offset, rows=10 if limit is None else limit
        ),
    )
    return [_package(context, dataset) for dataset in result.datasets]


@action("package_show", side_effect_free=True)
def package_show(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the metadata of a dataset (package) and its resources.

    Drafts and private datasets are shown only to publishers of their department.

    :param id: the id or name of the dataset
    :type id: string
    :rtype: dictionary
    """
    name_or_id = params.text(data, "id") or params.required(data, "name_or_id")
    return _package(context, _dataset_for_reader(context, name_or_id))


@action("resource_show", side_effect_free=True)
def resource_show(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the metadata of a resource.

    :param id: the id of the resource
    :type id: string
    :rtype: dictionary
    """
    resource_id = params.required(data, "id")
    try:
        resource = selectors.resource_by_id_for_reader(user=context.user, resource_id=resource_id)
    except selectors.DatasetNotFound:
        raise NotFound(_("Resource was not found.")) from None
    return _resource(context, resource)


# --- search ----------------------------------------------------------------------------


def _sort(value: str) -> str:
    """CKAN's sort, checked here so that a bad one is CKAN's Search Query Error."""
    value = value.strip()
    if value in ("", "rank"):
        return DEFAULT_SORT
    for part in value.split(","):
        words = part.split()
        if (
            len(words) not in (1, 2)
            or words[0] not in selectors.SORTS
            or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
        ):
            raise SearchQueryError(
                _(
                    'Search Query is invalid: Invalid "sort" parameter “%(sort)s”: use one or '
                    "more of %(fields)s, each followed by asc or desc, separated by commas."
                )
                % {"sort": part.strip(), "fields": ", ".join(selectors.SORTS)}
            )
    return value


def _facet_fields(data: Mapping[str, Any]) -> list[str]:
    fields = params.string_list(data, "facet.field")
    unknown = [name for name in fields if name not in selectors.FACET_FIELDS]
    if unknown:
        raise params.invalid(
            "facet.field",
            _("Cannot count “%(field)s”; the facet fields are: %(fields)s.")
            % {"field": unknown[0], "fields": ", ".join(selectors.FACET_FIELDS)},
        )
    return fields


def _search_facets(facets: Mapping[str, list[tuple[str, int]]]) -> dict[str, Any]:
    """CKAN's ``search_facets``: each field's items with their display names, sorted by
    display name descending (as CKAN sorts them)."""
    labels = selectors.facet_labels() if facets else {}
    shaped: dict[str, Any] = {}
    for name, values in facets.items():
        names = labels.get(name, {})
        items: list[dict[str, Any]] = [
            {"name": value, "display_name": names.get(value) or value, "count": count}
            for value, count in values
        ]
        items.sort(key=lambda item: str(item["display_name"]), reverse=True)
        shaped[name] = {"title": name, "items": items}
    return shaped


@action("package_search", side_effect_free=True)
def package_search(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Searches for datasets (packages) satisfying a given search criteria.

    :param q: the search words (every one must match the name, titles, descriptions,
        keywords or resource names); ``field:value`` words filter like ``fq``.
        Default ``*:*``.
    :type q: string
    :param fq: filter clauses, all of which must hold: ``organization:``, ``tags:``,
        ``groups:``, ``res_format:``, ``license_id:``, ``name:`` (a word or a
        "quoted phrase"), and ``metadata_modified:[2024-01-01T00:00:00Z TO *]``
        (ends may be ``*``, a date or time, or ``NOW-7DAYS``)
    :type fq: string
    :param sort: sorting of the search results: ``metadata_modified``,
        ``metadata_created``, ``name``, ``title_string`` or ``score``, each followed by
        ``asc`` or ``desc``, separated by commas. Default
        ``score desc, metadata_modified desc``.
    :type sort: string
    :param rows: the maximum number of matching rows (datasets) to return
        (at most 1000; default 10)
    :type rows: int
    :param start: the offset in the complete result for where the set of returned
        datasets should begin.
    :type start: int
    :param facet.field: the fields to facet upon (JSON list; of organization, groups,
        tags, res_format, license_id). Default empty.
    :type facet.field: list of strings
    :param facet.limit: the maximum number of values the facet fields return
        (-1: all). Default 50.
    :type facet.limit: int
    :param facet.mincount: the minimum counts for facet fields should be
        included in the results. Default 1.
    :type facet.mincount: int
    :param include_private: include the private datasets of your department
        (publishers). Default False.
    :type include_private: bool
    :param include_drafts: include the drafts of your department (publishers).
        Default False.
    :type include_drafts: bool
    :param include_deleted: include withdrawn datasets. Default False.
    :type include_deleted: bool

    The result: ``count``, ``results`` (datasets as ``package_show`` returns them),
    ``facets``, ``search_facets`` and ``sort``.

    :rtype: dictionary
    """
    unknown = sorted(
        key
        for key in data
        if key not in SEARCH_PARAMETERS and not key.startswith("ext_") and key != "callback"
    )
    if unknown:
        raise SearchQueryError(
            _("Search Query is invalid: Invalid search parameters: %(names)s")
            % {"names": ", ".join(unknown)}
        )
    rows = params.integer(data, "rows", 10, maximum=ROWS_MAX)
    start = params.integer(data, "start", 0)
    facet_limit = params.integer(data, "facet.limit", 50, minimum=-1)
    facet_mincount = params.integer(data, "facet.mincount", 1)
    include_private = params.boolean(data, "include_private")
    include_drafts = params.boolean(data, "include_drafts")
    include_deleted = params.boolean(data, "include_deleted")
    faceted = params.boolean(data, "facet", True)
    facet_fields = _facet_fields(data) if faceted else []
    sort = _sort(params.text(data, "sort"))
    q = params.text(data, "q").strip()
    filters = fq.Filters()
    try:
        if q and q != "*:*":
            fq.parse(q, free_words=True, filters=filters)
        fq.parse(params.text(data, "fq"), filters=filters)
        for clause in params.string_list(data, "fq_list"):
            fq.parse(clause, filters=filters)
    except fq.FilterInvalid as error:
        raise SearchError(_("Search error: %(detail)s") % {"detail": error}) from None
    sort_used = sort
    if filters.nothing:
        return {
            "count": 0,
            "results": [],
            "facets": {name: {} for name in facet_fields},
            "search_facets": {name: {"title": name, "items": []} for name in facet_fields},
            "sort": sort_used,
        }
    query = selectors.SearchQuery(
        q=" ".join(filters.words),
        terms=filters.terms,
        names=filters.names,
        modified_from=filters.modified_from,
        modified_to=filters.modified_to,
        sort=sort,
        start=start or 0,
        rows=rows if rows is not None else 10,
        facet_fields=facet_fields,
        facet_limit=facet_limit if facet_limit is not None else 50,
        facet_mincount=facet_mincount if facet_mincount is not None else 1,
        include_private=include_private,
        include_drafts=include_drafts,
        include_withdrawn=include_deleted,
    )
    try:
        result = selectors.dataset_search(user=context.user, query=query)
    except selectors.SearchInvalid as error:
        raise SearchQueryError(
            _('Search Query is invalid: Invalid "sort" parameter “%(sort)s”') % {"sort": error}
        ) from None
    return {
        "count": result.count,
        "results": [_package(context, dataset) for dataset in result.datasets],
        "facets": {name: dict(values) for name, values in result.facets.items()},
        "search_facets": _search_facets(result.facets),
        "sort": sort_used,
    }


# --- organisations, groups, tags -------------------------------------------------------


def _list_sort(data: Mapping[str, Any]) -> tuple[str, bool]:
    sort = params.text(data, "sort", "title asc").strip() or "title asc"
    if sort in ("packages", "package_count"):
        sort = "package_count desc"
    words = sort.split()
    allowed = ("name", "title", "packages", "package_count")
    if (
        len(words) not in (1, 2)
        or words[0] not in allowed
        or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
    ):
        raise params.invalid("sort", _("Cannot sort by field `%(field)s`") % {"field": sort})
    key = "package_count" if words[0] == "packages" else words[0]
    return key, len(words) == 2 and words[1].lower() == "desc"


def _listed(data: Mapping[str, Any], rows: list[dict[str, Any]], *, kind: str) -> list[Any]:
    """CKAN's ``_group_or_org_list``: filter (``q``, ``organizations``/``groups``), sort,
    page, and names or whole dicts (``all_fields``)."""
    all_fields = params.boolean(data, "all_fields")
    limit = params.integer(data, "limit", None)
    offset = params.integer(data, "offset", 0) or 0
    maximum = LIST_ALL_FIELDS_MAX if all_fields else LIST_MAX
    limit = maximum if limit is None or limit > maximum else limit
    q = params.text(data, "q").strip().lower()
    if q:
        rows = [r for r in rows if q in r["name"].lower() or q in str(r["title"]).lower()]
    wanted = params.string_list(data, kind) if kind in data else []
    if len(wanted) == 1 and "," in wanted[0]:
        wanted = [w.strip() for w in wanted[0].split(",") if w.strip()]
    if wanted:
        rows = [r for r in rows if r["name"] in wanted]
    key, descending = _list_sort(data)
    rows.sort(
        key=lambda r: (r[key], r["name"]) if key == "package_count" else str(r[key]).lower(),
        reverse=descending,
    )
    rows = rows[offset : offset + limit]
    return rows if all_fields else [r["name"] for r in rows]


def _organizations(context: ActionContext) -> list[dict[str, Any]]:
    return [
        {**packages.organization_dict(department), "package_count": count}
        for department, count in selectors.organizations_with_counts(user=context.user)
    ]


def _theme_counts(context: ActionContext) -> dict[str, int]:
    result = selectors.dataset_search(
        user=None,
        query=selectors.SearchQuery(rows=0, facet_fields=["groups"], facet_limit=-1),
    )
    return dict(result.facets.get("groups", []))


def _groups(context: ActionContext) -> list[dict[str, Any]]:
    counts = _theme_counts(context)
    return [
        {**packages.group_dict(code), "package_count": counts.get(code.lower(), 0)}
        for code in THEMES
    ]


def _datasets_of(context: ActionContext, term: tuple[str, str]) -> list[dict[str, Any]]:
    result = selectors.dataset_search(
        user=context.user,
        query=selectors.SearchQuery(
            terms=[term], rows=SHOW_DATASETS_MAX, sort="metadata_modified desc"
        ),
    )
    return [_package(context, dataset) for dataset in result.datasets]


@action("organization_list", side_effect_free=True)
def organization_list(context: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """Return a list of the names of the site's organizations (the authority's
    departments).

    :param sort: sorting of the search results: ``name``, ``title`` or
        ``package_count``, with ``asc`` or ``desc``. Default ``title asc``.
    :type sort: string
    :param limit: the maximum number of organizations returned (at most 1000, or 25
        with ``all_fields``)
    :type limit: int
    :param offset: when ``limit`` is given, the offset to start returning organizations
    :type offset: int
    :param organizations: a list of names of the organizations to return, if given
    :type organizations: list of strings
    :param all_fields: return group dictionaries instead of just names. Default False.
    :type all_fields: bool

    :rtype: list of strings or dictionaries
    """
    return _listed(data, _organizations(context), kind="organizations")


@action("organization_show", side_effect_free=True)
def organization_show(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the details of an organization (a department).

    :param id: the id or name of the organization
    :type id: string
    :param include_datasets: include a list of the organization's datasets (up to 1000).
        Default False.
    :type include_datasets: bool

    :rtype: dictionary
    """
    slug = params.required(data, "id")
    include_datasets = params.boolean(data, "include_datasets")
    found = next((o for o in _organizations(context) if o["name"] == slug), None)
    if found is None:
        raise NotFound(_("Organization not found"))
    if include_datasets:
        found["packages"] = _datasets_of(context, ("organization", slug))
    found.update({"users": [], "extras": [], "groups": [], "tags": []})
    return found


@action("group_list", side_effect_free=True)
def group_list(context: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """Return a list of the names of the site's groups: the EU data themes.

    :param sort: ``name``, ``title`` or ``package_count``, with ``asc`` or ``desc``.
        Default ``title asc``.
    :type sort: string
    :param limit: the maximum number of groups returned
    :type limit: int
    :param offset: when ``limit`` is given, the offset to start returning groups
    :type offset: int
    :param groups: a list of names of the groups to return, if given
    :type groups: list of strings
    :param all_fields: return group dictionaries instead of just names. Default False.
    :type all_fields: bool

    :rtype: list of strings or dictionaries
    """
    return _listed(data, _groups(context), kind="groups")


@action("group_show", side_effect_free=True)
def group_show(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the details of a group (an EU data theme: ``envi``, ``tran``…).

    :param id: the id or name of the group
    :type id: string
    :param include_datasets: include a list of the group's datasets (up to 1000).
        Default False.
    :type include_datasets: bool

    :rtype: dictionary
    """
    name = params.required(data, "id").lower()
    include_datasets = params.boolean(data, "include_datasets")
    found = next((g for g in _groups(context) if g["name"] == name), None)
    if found is None:
        raise NotFound(_("Group not found"))
    if include_datasets:
        found["packages"] = _datasets_of(context, ("groups", name))
    found.update({"users": [], "extras": [], "groups": [], "tags": []})
    return found


@action("tag_list", side_effect_free=True)
def tag_list(context: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """Return a list of the keywords (tags) of the site's public datasets.

    :param query: a tag name query to search for, if given only tags whose
        names contain this string will be returned (optional)
    :type query: string
    :param all_fields: return full tag dictionaries instead of just names
        (optional, default: ``False``)
    :type all_fields: bool

    :rtype: list of strings or dictionaries
    """
    query = (params.text(data, "query") or params.text(data, "q")).strip().lower()
    names = selectors.keywords_in_use(query=query)
    if params.boolean(data, "all_fields"):
        return [{"id": n, "name": n, "display_name": n, "vocabulary_id": None} for n in names]
    return names


# --- writes ----------------------------------------------------------------------------

#: Our field -> CKAN's name, for the errors of services.DatasetInvalid.
ERROR_FIELDS = {
    "titles": "title",
    "descriptions": "notes",
    "licence_id": "license_id",
    "keywords": "tags",
    "themes": "groups",
    "contact_name": "maintainer",
    "contact_email": "maintainer_email",
    "ward": "spatial_uri",
}
#: Extras a client may set, and extras of package_show that are read only (ignored
#: when a client sends a package dict back).
WRITABLE_EXTRAS = {
    "frequency", "temporal_start", "temporal_end", "spatial_uri", "contact_name",
    "contact_email", "theme",
}  # fmt: skip
READ_ONLY_EXTRAS = {"issued", "modified", "revision", "withdrawn_reason"}


@contextmanager
def _service_errors() -> Iterator[None]:
    """The services' errors as CKAN's."""
    try:
        yield
    except services.DatasetInvalid as error:
        raise ValidationError(
            fields={ERROR_FIELDS.get(k, k): v for k, v in error.errors.items()}
        ) from None
    except services.ResourceInvalid as error:
        raise ValidationError(fields={error.field: [str(error)]}) from None
    except PermissionDenied as error:
        raise NotAuthorized(str(error)) from None
    except services.OpendataError as error:
        raise ValidationError(fields={"state": [str(error)]}) from None


def _translated(data: Mapping[str, Any], key: str, plain: str) -> dict[str, str] | None:
    """``title_translated``/``notes_translated`` merged with ``title``/``notes`` (the
    default language's); ``None`` when neither is given."""
    texts: dict[str, str] | None = None
    if data.get(key) not in (None, ""):
        value = params.json_value(data, key)
        if not isinstance(value, dict):
            raise params.invalid(key, _("Give an object of language code to text"))
        texts = {str(k): str(v) for k, v in value.items()}
    if plain in data:
        texts = {**(texts or {}), settings.LANGUAGE_CODE: params.text(data, plain)}
    return texts


def _names(data: Mapping[str, Any], key: str) -> list[str] | None:
    """``tags``/``groups``: a list of {"name": …} (or of strings)."""
    if key not in data:
        return None
    value = params.json_value(data, key)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise params.invalid(key, _('Give a list like [{"name": "trees"}]'))
    names: list[str] = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("name") or item.get("id"), str):
            names.append(item.get("name") or item["id"])
        elif isinstance(item, str):
            names.append(item)
        else:
            raise params.invalid(key, _('Give a list like [{"name": "trees"}]'))
    return names


def _extras(data: Mapping[str, Any]) -> dict[str, Any]:
    if data.get("extras") in (None, ""):
        return {}
    value = params.json_value(data, "extras")
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list) and all(isinstance(e, dict) and "key" in e for e in value):
        pairs = [(str(e["key"]), e.get("value")) for e in value]
    else:
        raise params.invalid(
            "extras", _('Give a list like [{"key": "frequency", "value": "ANNUAL"}]')
        )
    extras: dict[str, Any] = {}
    for key, raw in pairs:
        if key in READ_ONLY_EXTRAS:
            continue
        if key not in WRITABLE_EXTRAS:
            raise params.invalid(
                "extras",
                _("“%(key)s” is not an extra this catalogue keeps; it keeps: %(keys)s.")
                % {"key": key, "keys": ", ".join(sorted(WRITABLE_EXTRAS))},
            )
        extras[key] = raw
    return extras


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:  # noqa: PLR0912 (one branch a field)
    """The dataset fields (``services``' names) a CKAN package dict gives."""
    fields: dict[str, Any] = {}
    if "name" in data:
        fields["name"] = params.text(data, "name")
    titles = _translated(data, "title_translated", "title")
    if titles is not None:
        fields["titles"] = titles
    descriptions = _translated(data, "notes_translated", "notes")
    if descriptions is not None:
        fields["descriptions"] = descriptions
    if "license_id" in data:
        fields["licence_id"] = params.text(data, "license_id")
    tags = _names(data, "tags")
    if tags is not None:
        fields["keywords"] = tags
    groups = _names(data, "groups")
    if groups is not None:
        fields["themes"] = [g.upper() for g in groups]
    if "private" in data:
        fields["private"] = params.boolean(data, "private")
    if "version" in data:
        fields["version"] = params.text(data, "version")
    if "maintainer" in data:
        fields["contact_name"] = params.text(data, "maintainer")
    if "maintainer_email" in data:
        fields["contact_email"] = params.text(data, "maintainer_email")
    for key, value in _extras(data).items():
        text = "" if value is None else str(value)
        if key == "frequency":
            fields["frequency"] = text.removeprefix(EU_FREQUENCY)
        elif key == "theme":
            try:
                themes = json.loads(text) if text.startswith("[") else [text]
            except ValueError:
                raise params.invalid("extras", _("theme: give a JSON list of themes")) from None
            fields["themes"] = [str(t).removeprefix(EU_THEME).upper() for t in themes if t]
        elif key == "spatial_uri":
            fields["ward"] = text
        else:
            fields[key] = text
    return fields


def _state(data: Mapping[str, Any]) -> str | None:
    if "state" not in data:
        return None
    state = params.text(data, "state").strip()
    if state not in ("active", "draft", "deleted"):
        raise params.invalid("state", _("Use active, draft or deleted"))
    return state


def _format_label(value: str) -> str | None:
    """A format as the catalogue labels it ("csv" -> "CSV"), else as given."""
    value = value.strip().lstrip(".")
    for label in FORMATS:
        if label.lower() == value.lower():
            return label
    return value or None


def _check_url(url: str, *, key: str = "url") -> None:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        raise params.invalid(key, _("Enter a web address starting with https://")) from None
    if len(url) > 500:
        raise params.invalid(key, _("Keep it to %(count)d characters.") % {"count": 500})


@action("package_create", side_effect_free=False)
def package_create(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Create a new dataset (package). Needs an API token of a publisher of ``owner_org``.

    :param name: the name of the new dataset: 2 to 100 lower-case letters, digits,
        ``-`` and ``_``
    :type name: string
    :param title: the title (in the site's main language); ``title_translated`` gives
        it in each language ({"en": …, "fr": …})
    :type title: string
    :param owner_org: the organization (department) the dataset belongs to
    :type owner_org: string
    :param license_id: a licence of ``license_list``
    :type license_id: string
    :param notes: the description (Markdown); ``notes_translated`` per language
    :type notes: string
    :param tags: keywords, e.g. [{"name": "trees"}]
    :type tags: list of dictionaries
    :param groups: EU data themes, e.g. [{"name": "envi"}]
    :type groups: list of dictionaries
    :param extras: ``frequency``, ``temporal_start``, ``temporal_end``, ``spatial_uri``
        (a ward's code), ``contact_name``, ``contact_email``, ``theme``
    :type extras: list of dictionaries
    :param private: seen by its department only. Default False.
    :type private: bool
    :param version: the publisher's version label
    :type version: string
    :param maintainer: the contact point's name; ``maintainer_email`` its email
    :type maintainer: string
    :param resources: links to add at once, e.g. [{"url": …, "name": …, "format": …}]
        (upload files with ``resource_create``)
    :type resources: list of dictionaries
    :param state: ``draft`` (the default: publish it later with ``package_patch``) or
        ``active`` (publish now: it needs at least one resource that passed its checks)
    :type state: string

    :returns: the newly created dataset
    :rtype: dictionary
    """
    actor = _require_token(context)
    slug = params.required(data, "owner_org")
    department = Department.objects.filter(slug=slug).first()
    if department is None:
        raise params.invalid("owner_org", _("Organization does not exist"))
    state = _state(data)
    fields = _fields(data)
    links = params.json_value(data, "resources") if data.get("resources") else []
    if not isinstance(links, list) or not all(
        isinstance(r, dict) and isinstance(r.get("url"), str) for r in links
    ):
        raise params.invalid("resources", _('Give links as [{"url": …, "name": …}]'))
    for link in links:
        _check_url(link["url"], key="resources")
    with _service_errors(), transaction.atomic():
        dataset = services.dataset_create(actor=actor, department=department, fields=fields)
        for link in links:
            services.resource_add(
                actor=actor,
                dataset=dataset,
                url=link["url"],
                names=str(link.get("name") or ""),
                descriptions=str(link.get("description") or ""),
                format_label=_format_label(str(link.get("format") or "")),
            )
        if state == "active":
            dataset = services.dataset_publish(actor=actor, dataset=dataset)
    return _package(context, _dataset_for_reader(context, str(dataset.pk)))


@action("package_patch", side_effect_free=False)
def package_patch(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Change the fields of a dataset that are given; the others keep their values.
    Needs an API token of a publisher of the dataset's department.

    Takes the fields of ``package_create`` (not ``owner_org`` or ``resources``), and
    ``state``: ``active`` publishes the dataset; ``deleted`` withdraws it, with the
    reason in ``withdrawn_reason``. Nothing is ever deleted.

    :param id: the id or name of the dataset
    :type id: string
    :returns: the dataset
    :rtype: dictionary
    """
    actor = _require_token(context)
    name_or_id = params.required(data, "id")
    dataset = _dataset_for_reader(context, name_or_id)
    # The caller's rights before anything about the request: another department's
    # publisher learns nothing from which of their fields would be refused.
    if not services.publisher_covers(actor, dataset):
        raise NotAuthorized(_("You cannot change this dataset."))
    if "owner_org" in data and params.text(data, "owner_org") not in (
        dataset.department.slug,
        "",
    ):
        raise params.invalid("owner_org", _("A dataset cannot move to another organization"))
    state = _state(data)
    fields = _fields(data)
    if fields.get("name") == dataset.name:
        fields.pop("name")
    # A patch of one language's text keeps the others ("" removes one).
    for key, current in (("titles", dataset.titles), ("descriptions", dataset.descriptions)):
        if key in fields:
            fields[key] = {**current, **fields[key]}
    with _service_errors(), transaction.atomic():
        if fields:
            dataset = services.dataset_update(actor=actor, dataset=dataset, fields=fields)
        if state == "active":
            dataset = services.dataset_publish(actor=actor, dataset=dataset)
        elif state == "deleted":
            dataset = services.dataset_withdraw(
                actor=actor, dataset=dataset, reason=params.text(data, "withdrawn_reason")
            )
        elif state == "draft" and dataset.state != Dataset.State.DRAFT:
            raise params.invalid("state", _("A published dataset cannot become a draft again"))
        if not fields and state is None and not services.publisher_covers(actor, dataset):
            raise NotAuthorized(_("You cannot publish data for this department."))
    return _package(context, _dataset_for_reader(context, str(dataset.pk)))


@action("resource_create", side_effect_free=False)
def resource_create(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Add a resource to a dataset: a file sent as the multipart field ``upload``, or a
    link in ``url``. A table (CSV, XLSX, JSON, Parquet) is checked against its Table
    Schema (``schema``, else one inferred) and loaded into the DataStore; small files at
    once, large ones in the background (``datastore_active`` then turns true).

    :param package_id: the id or name of the dataset
    :type package_id: string
    :param upload: the file (multipart/form-data)
    :type upload: file
    :param url: a link, when there is no file
    :type url: string
    :param name: the resource's name (default: the file's name)
    :type name: string
    :param description: its description
    :type description: string
    :param format: CSV, XLSX, JSON, Parquet, GeoJSON or PDF (default: from the file's name)
    :type format: string
    :param schema: a Frictionless Table Schema (JSON)
    :type schema: dictionary

    :returns: the newly created resource
    :rtype: dictionary
    """
    actor = _require_token(context)
    dataset = _dataset_for_reader(context, params.required(data, "package_id"))
    upload = data.get("upload")
    url = params.text(data, "url").strip() if not hasattr(upload, "read") else ""
    if not hasattr(upload, "read") and not url:
        raise ValidationError(
            fields={"upload": [_("Send a file as “upload”, or a link as “url”.")]}
        )
    schema = params.json_value(data, "schema") if data.get("schema") not in (None, "") else None
    if schema is not None and not isinstance(schema, dict):
        raise params.invalid("schema", _("Give a Table Schema as a JSON object"))
    names = _translated(data, "name_translated", "name")
    descriptions = _translated(data, "description_translated", "description")
    format_label = _format_label(params.text(data, "format"))
    if url:
        _check_url(url)
    with _service_errors():
        if hasattr(upload, "read"):
            resource = services.resource_add(
                actor=actor,
                dataset=dataset,
                filename=str(getattr(upload, "name", "") or "data"),
                content=upload,
                names=names,
                descriptions=descriptions,
                format_label=format_label,
                schema=schema,
            )
        else:
            resource = services.resource_add(
                actor=actor,
                dataset=dataset,
                url=url,
                names=names,
                descriptions=descriptions,
                format_label=format_label,
            )
    resource = Resource.objects.select_related("dataset").get(pk=resource.pk)
    return _resource(context, resource)
