"""Reads of the open-data catalogue.

A reader sees public datasets (published or withdrawn, not private); a publisher also sees
the drafts and private datasets of their remit (capability ``opendata.publish``).
Anything else is "not found", never "forbidden", so that names do not leak.
"""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Window,
)
from django.db.models.expressions import RawSQL
from django.utils.translation import get_language

from ecitizen.accounts.models import Department
from ecitizen.accounts.selectors import remit_filter
from ecitizen.core.authority import localised_name
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.processcache import Kept
from ecitizen.opendata.models import (
    RESOURCE_FILES_FOLDER,
    ApiToken,
    Dataset,
    DatasetRevision,
    DatasetTerm,
    Resource,
)

OPENDATA_PUBLISH = "opendata.publish"

#: The facet fields a search may count, as CKAN names them.
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id")


class DatasetNotFound(Exception):
    """No dataset of that name or id that the reader may see."""


def _publisher_remit(user: Any) -> Q | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    condition = remit_filter(user, OPENDATA_PUBLISH)
    return condition


def datasets_visible(user: Any, *, include_private: bool = True) -> QuerySet[Dataset]:
    """Every dataset ``user`` may read: public ones, and (with ``include_private``) the
    drafts and private ones of the user's publishing remit."""
    public = Q(private=False) & ~Q(state=Dataset.State.DRAFT)
    remit = _publisher_remit(user) if include_private else None
    # An authority-wide remit is Q(), which "public | Q()" would drop: it reads everything.
    condition = (public | remit if remit else Q()) if remit is not None else public
    return Dataset.objects.filter(condition)


def _with_related(queryset: QuerySet[Dataset]) -> QuerySet[Dataset]:
    return queryset.select_related("department", "ward").prefetch_related(
        Prefetch("resources", queryset=Resource.objects.order_by("position", "created"))
    )


#: What a list of results reads of a dataset (``opendata/_results.html``), with its
#: department: not its search text, facet terms or the other columns a dataset's page and
#: the API read.
LISTED_FIELDS = (
    "name",
    "titles",
    "descriptions",
    "modified",
    "department__name",
    "department__names",
)


def dataset_for_reader(*, user: Any, name_or_id: str) -> Dataset:
    """The dataset named (or with the id) ``name_or_id`` if ``user`` may read it, with its
    department, ward and resources; else :class:`DatasetNotFound`."""
    import uuid

    lookup = Q(name=name_or_id)
    with contextlib.suppress(ValueError):
        lookup |= Q(pk=uuid.UUID(str(name_or_id)))
    dataset = _with_related(datasets_visible(user).filter(lookup)).first()
    if dataset is None:
        raise DatasetNotFound(name_or_id)
    return dataset


def dataset_for_publisher(*, user: Any, name: str) -> Dataset:
    """A dataset in ``user``'s publishing remit, else :class:`DatasetNotFound`."""
    remit = _publisher_remit(user)
    if remit is None:
        raise DatasetNotFound(name)
    dataset = _with_related(Dataset.objects.filter(remit, name=name)).first()
    if dataset is None:
        raise DatasetNotFound(name)
    return dataset


def datasets_for_publisher(*, user: Any) -> QuerySet[Dataset]:
    """The datasets of ``user``'s publishing remit, last changed first."""
    remit = _publisher_remit(user)
    if remit is None:
        return Dataset.objects.none()
    return Dataset.objects.filter(remit).select_related("department", "ward").order_by("-modified")


def publisher_departments(*, user: Any) -> list[Department]:
    """The departments ``user`` may create datasets in (every one for an authority-wide
    role holding ``opendata.publish``)."""
    from ecitizen.accounts.selectors import remit_assignments
    from ecitizen.core.registry import registry

    assignments = remit_assignments(user, OPENDATA_PUBLISH)
    if any(a.role in registry.authority_wide_roles() for a in assignments):
        return list(Department.objects.order_by("name"))
    ids = {a.department_id for a in assignments if a.department_id is not None}
    return list(Department.objects.filter(pk__in=ids).order_by("name"))


def resource_for_reader(*, user: Any, dataset_name: str, resource_id: str) -> Resource:
    """A resource of a dataset the reader may read, else :class:`DatasetNotFound`."""
    dataset = dataset_for_reader(user=user, name_or_id=dataset_name)
    for resource in dataset.resources.all():
        if str(resource.id) == str(resource_id):
            return resource
    raise DatasetNotFound(resource_id)


def resource_by_id_for_reader(*, user: Any, resource_id: str) -> Resource:
    """A resource by its id alone (CKAN's ``resource_show``, ``datastore_search``)."""
    import uuid

    try:
        key = uuid.UUID(str(resource_id))
    except ValueError as error:
        raise DatasetNotFound(resource_id) from error
    resource = (
        Resource.objects.select_related("dataset", "dataset__department", "dataset__ward")
        .filter(pk=key, dataset__in=datasets_visible(user))
        .first()
    )
    if resource is None:
        raise DatasetNotFound(resource_id)
    return resource


def dataset_revisions(*, dataset: Dataset, user: Any) -> QuerySet[DatasetRevision]:
    """The dataset's history as ``user`` may read it, newest first (the publisher is not
    part of it): every revision for the dataset's own publishers; for everyone else, from
    its first publication on (what a draft said before it was published stays private)."""
    revisions = DatasetRevision.objects.filter(dataset=dataset).order_by("-number")
    remit = _publisher_remit(user)
    if remit is not None and Dataset.objects.filter(remit, pk=dataset.pk).exists():
        return revisions
    if dataset.issued is None:
        return revisions.none()
    return revisions.filter(at__gte=dataset.issued)


def api_tokens_of(*, user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created")


# --- search ----------------------------------------------------------------------------


@dataclass
class SearchQuery:
    """A catalogue search, in CKAN's terms.

    ``terms`` are facet filters: every (field, value) pair must hold (CKAN's ``fq`` with
    ``organization:``, ``groups:``, ``tags:``, ``res_format:``, ``license_id:``).
    ``modified_from``/``modified_to`` bound ``metadata_modified``.
    """

    q: str = ""
    terms: Sequence[tuple[str, str]] = ()
    #: Exact dataset names, all of which must match (CKAN ``fq=name:…``).
    names: Sequence[str] = ()
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    sort: str = ""
    start: int = 0
    rows: int = 10
    facet_fields: Sequence[str] = ()
    facet_limit: int = 50
    facet_mincount: int = 1
    include_private: bool = False
    include_drafts: bool = False
    include_withdrawn: bool = False
    #: Only what a list of results shows (the search page): the datasets' :data:`LISTED_FIELDS`
    #: and their resources' formats (``SearchResult.formats``); else whole datasets with
    #: their resources (the API).
    listing: bool = False


@dataclass
class SearchResult:
    count: int
    datasets: list[Dataset]
    #: field -> [(value, count)], most frequent first.
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: For a listing: dataset id -> its resources' formats, sorted, each once.
    formats: dict[Any, list[str]] = field(default_factory=dict)


#: CKAN sort fields and ours.
SORTS = {
    "metadata_modified": "modified",
    "metadata_created": "created",
    "name": "name",
    "title_string": "sort_title",
    "score": None,
}


class SearchInvalid(ValueError):
    """A sort the catalogue does not know (the message names it)."""


def _ordering(sort: str, has_query: bool) -> list[str]:
    if not sort.strip():
        return ["-modified", "name"]
    ordering: list[str] = []
    for part in sort.split(","):
        words = part.split()
        if not words:
            continue
        key = words[0]
        direction = words[1].lower() if len(words) > 1 else "asc"
        if key not in SORTS or direction not in {"asc", "desc"} or len(words) > 2:
            raise SearchInvalid(part.strip())
        column = SORTS[key]
        if column is None:  # relevance: all matches are equal here; newest first
            column, direction = "modified", "desc"
        ordering.append(("-" if direction == "desc" else "") + column)
    return [*ordering, "name"] if ordering else ["-modified", "name"]


#: At most this many words of ``q`` are searched for.
MAX_SEARCH_WORDS = 10


def search_words(text: str) -> list[str]:
    """The words of ``text`` as search sees them: runs of letters and digits (in any
    script), lower case."""
    return re.findall(r"\w+", text.lower())


def _matching_words(base: QuerySet[Dataset], words: Sequence[str]) -> QuerySet[Dataset]:
    """Datasets whose search text has a word starting with each of ``words``.

    PostgreSQL answers from ``search_vector``, the stored full-text vector of
    ``search_text`` (migration 0002; prefix queries of the ``simple`` configuration, which
    neither stems nor drops words); SQLite scans for " word" (the text has a space before
    every word).
    """
    words = list(words)[:MAX_SEARCH_WORDS]
    if not words:
        return base
    if connection.vendor == "postgresql":
        tsquery = " & ".join(f"{word}:*" for word in words)
        return base.filter(
            RawSQL(
                '"opendata_dataset"."search_vector" @@ to_tsquery(\'simple\', %s)',
                [tsquery],
                output_field=BooleanField(),
            )
        )
    for word in words:
        base = base.filter(search_text__contains=f" {word}")
    return base


def _facet_counts(
    matches: tuple[str, Sequence[Any]], wanted: Sequence[str], query: SearchQuery
) -> dict[str, list[tuple[str, int]]]:
    """How many of the matching datasets have each value of the ``wanted`` facets: one
    pass over their ``facet_terms`` (a JSON list per dataset, unnested by the database).
    ``matches``: the SQL and parameters of the matches' ``facet_terms``."""
    inner, params = matches
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT t.term, COUNT(*) FROM ({inner}) d "  # noqa: S608 (Django's own SQL)
            "CROSS JOIN LATERAL jsonb_array_elements_text(d.facet_terms) AS t(term) "
            "GROUP BY t.term"
        )
    else:
        sql = (
            f"SELECT j.value, COUNT(*) FROM ({inner}) d, json_each(d.facet_terms) j "  # noqa: S608
            "GROUP BY j.value"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    buckets: dict[str, list[tuple[str, int]]] = {}
    for term, n in rows:
        field, _sep, value = str(term).partition(":")
        if field in wanted and n >= max(query.facet_mincount, 1):
            buckets.setdefault(field, []).append((value, int(n)))
    for bucket in buckets.values():
        bucket.sort(key=lambda item: (-item[1], item[0]))
        if query.facet_limit >= 0:
            del bucket[query.facet_limit :]
    return buckets


def dataset_search(*, user: Any, query: SearchQuery) -> SearchResult:
    """The datasets matching ``query`` that ``user`` may see, one page of them, and the
    counts of the requested facets over all matches.

    ``q`` matches datasets having, for every word of it, a word that starts with it (case
    aside) in the name, titles, descriptions, keywords or resource names, in any
    language. Drafts and private datasets appear only when asked for and within the
    user's publishing remit; withdrawn ones only when asked.

    A listing of public datasets chosen by facets only (the search page as it opens,
    and as its filters narrow it) is read through queries compiled once per shape
    (:func:`_compiled_listing`); anything else is built by the ORM each time.
    """
    wanted = [f for f in query.facet_fields if f in FACET_FIELDS]
    compiled = _compiled_listing(query)
    if compiled is not None:
        page, formats, count = compiled.page(query)
        facets = (
            _facet_counts(compiled.facet_terms(query), wanted, query) if wanted and count else {}
        )
    else:
        base = _matches(user, query)
        page, formats = _page(base, query)
        if page:
            count = int(getattr(page[0], "search_total", 0))
        else:
            count = base.count() if query.start or not query.rows else 0
        facets = (
            _facet_counts(base.values("facet_terms").query.sql_with_params(), wanted, query)
            if wanted and count
            else {}
        )
    for name in wanted:
        facets.setdefault(name, [])
    return SearchResult(count=count, datasets=page, facets=facets, formats=formats)


def _matches(user: Any, query: SearchQuery) -> QuerySet[Dataset]:
    """The datasets matching ``query`` that ``user`` may see (:func:`dataset_search`)."""
    base = datasets_visible(user, include_private=query.include_private or query.include_drafts)
    if not query.include_drafts:
        base = base.exclude(state=Dataset.State.DRAFT)
    if not query.include_private:
        base = base.filter(private=False)
    if not query.include_withdrawn:
        base = base.exclude(state=Dataset.State.WITHDRAWN)
    base = _matching_words(base, search_words(query.q))
    for term_field, value in query.terms:
        base = base.filter(
            Exists(
                DatasetTerm.objects.filter(dataset=OuterRef("pk"), field=term_field, value=value)
            )
        )
    for name in query.names:
        base = base.filter(name=name)
    if query.modified_from is not None:
        base = base.filter(modified__gte=query.modified_from)
    if query.modified_to is not None:
        base = base.filter(modified__lte=query.modified_to)
    return base


#: What a compiled listing depends on besides its values (the facet filters' values):
#: whether withdrawn datasets count, the facet filters' fields, the order, the window.
_ListingShape = tuple[bool, tuple[str, ...], tuple[str, ...], int, int]


@dataclass(frozen=True)
class _CompiledListing:
    """The three queries of a listing of one shape: the page with the matches' count on
    its rows and the matches' facet terms, each taking ``term_i`` (the value of the
    ``i``-th facet filter), and the formats of the page's datasets' resources, taking
    ``dataset_i`` (the page's ``i``-th dataset)."""

    page_query: CompiledQuery[Dataset]
    formats_query: CompiledQuery[Resource]
    facet_terms_query: CompiledQuery[Dataset]

    @staticmethod
    def values(query: SearchQuery) -> dict[str, str]:
        return {f"term_{i}": value for i, (_field, value) in enumerate(query.terms)}

    def page(self, query: SearchQuery) -> tuple[list[Dataset], dict[Any, list[str]], int]:
        """The page, its datasets' formats (as :func:`_resource_formats`) and the count
        of matches; the count is read by another query only past the last page."""
        page = self.page_query.objects(**self.values(query))
        if not page:
            return [], {}, _matches(None, query).count() if query.start else 0
        # The page's own ids, each place past its end given an id no dataset has.
        ids = [dataset.pk for dataset in page]
        ids += [_NO_DATASET] * (query.rows - len(ids))
        chosen: dict[str, Any] = {f"dataset_{i}": pk for i, pk in enumerate(ids)}
        formats = _grouped_formats(page, self.formats_query.rows(**chosen))
        return page, formats, int(getattr(page[0], "search_total", 0))

    def facet_terms(self, query: SearchQuery) -> tuple[str, list[Any]]:
        return self.facet_terms_query.sql_with_params(**self.values(query))


#: An id no dataset has (ids are random UUIDs), for the places of the compiled formats
#: query that a short page leaves empty.
_NO_DATASET = uuid.UUID(int=0)


def _compiled_listing(query: SearchQuery) -> _CompiledListing | None:
    """The compiled queries of ``query``'s shape when it is a listing of public datasets
    chosen by facet filters only (no words, names or dates); else ``None``. Raises
    :class:`SearchInvalid` for an unknown sort, as the ORM's path does."""
    ordering = tuple(_ordering(query.sort, bool(query.q)))
    if not (
        query.listing
        and query.rows
        and not (query.include_private or query.include_drafts)
        and not search_words(query.q)
        and not query.names
        and query.modified_from is None
        and query.modified_to is None
    ):
        return None
    fields = tuple(term_field for term_field, _value in query.terms)
    return _listing_queries((query.include_withdrawn, fields, ordering, query.start, query.rows))


@functools.lru_cache(maxsize=128)
def _listing_queries(shape: _ListingShape) -> _CompiledListing:
    include_withdrawn, fields, ordering, start, rows = shape
    value_field = DatasetTerm._meta.get_field("value")
    samples = {f"term_{i}": (f"term-sample-{i}-7031964", value_field) for i in range(len(fields))}

    def matches(**values: str) -> QuerySet[Dataset]:
        query = SearchQuery(
            terms=[(field_name, values[f"term_{i}"]) for i, field_name in enumerate(fields)],
            include_withdrawn=include_withdrawn,
        )
        return _matches(None, query)

    def page(**values: str) -> QuerySet[Dataset]:
        counted = matches(**values).annotate(search_total=Window(Count("pk")))
        listed = counted.order_by(*ordering).only(*LISTED_FIELDS).select_related("department")
        return listed[start : start + rows]

    def formats(**datasets: Any) -> QuerySet[Resource, tuple[Any, str]]:
        return (
            Resource.objects.filter(dataset_id__in=list(datasets.values()))
            .exclude(format="")
            .values_list("dataset_id", "format")
        )

    def facet_terms(**values: str) -> QuerySet[Dataset, Any]:
        return matches(**values).values("facet_terms")

    dataset_field = Resource._meta.get_field("dataset")
    return _CompiledListing(
        page_query=CompiledQuery(Dataset, page, **samples),
        # One place for each dataset of a full page: a page's formats are read for the
        # datasets it shows, not for another query's idea of them.
        formats_query=CompiledQuery(
            Resource,
            formats,
            **{f"dataset_{i}": (uuid.UUID(int=7_031_966 + i), dataset_field) for i in range(rows)},
        ),
        facet_terms_query=CompiledQuery(Dataset, facet_terms, **samples),
    )


def _page(
    base: QuerySet[Dataset], query: SearchQuery
) -> tuple[list[Dataset], dict[Any, list[str]]]:
    """The page of matches ``query`` asks for, each dataset with its total number of
    matches (``search_total``), and for a listing the formats of their resources."""
    if not query.rows:
        return [], {}
    # The total rides on the page's rows (one scan of the matches, not two).
    counted: QuerySet[Dataset] = base.annotate(search_total=Window(Count("pk")))
    counted = counted.order_by(*_ordering(query.sort, bool(query.q)))
    window = slice(query.start, query.start + query.rows)
    if not query.listing:
        return list(_with_related(counted)[window]), {}
    page = list(counted.only(*LISTED_FIELDS).select_related("department")[window])
    return page, _resource_formats(page)


def _resource_formats(datasets: list[Dataset]) -> dict[Any, list[str]]:
    """Each dataset's resources' formats, sorted, each once (one query of two columns:
    prefetching the resources built a row object for each)."""
    pairs = Resource.objects.filter(dataset__in=[d.pk for d in datasets]).exclude(format="")
    return _grouped_formats(datasets, pairs.values_list("dataset_id", "format"))


def _grouped_formats(
    datasets: Sequence[Dataset], pairs: Iterable[Sequence[Any]]
) -> dict[Any, list[str]]:
    """Each of ``datasets``' formats, sorted, each once, from (dataset id, format) pairs
    of their resources; a dataset without any has an empty list."""
    formats: dict[Any, set[str]] = {dataset.pk: set() for dataset in datasets}
    for dataset_id, name in pairs:
        formats[dataset_id].add(name)
    return {dataset_id: sorted(names) for dataset_id, names in formats.items()}


def organizations_with_counts(*, user: Any) -> list[tuple[Department, int]]:
    """Every department with how many public datasets it has (organisations)."""
    public = datasets_visible(None).exclude(state=Dataset.State.WITHDRAWN)
    counts = dict(
        public.values("department").annotate(n=Count("pk")).values_list("department", "n")
    )
    return [(d, counts.get(d.pk, 0)) for d in Department.objects.order_by("name")]


def keywords_in_use(*, query: str = "") -> list[str]:
    """Every keyword of a public dataset (CKAN ``tag_list``), optionally containing ``query``."""
    terms = DatasetTerm.objects.filter(
        field="tags",
        dataset__in=datasets_visible(None).exclude(state=Dataset.State.WITHDRAWN).values("pk"),
    )
    if query:
        terms = terms.filter(value__contains=query.lower())
    return sorted(set(terms.values_list("value", flat=True)))


def dataset_names(*, user: Any) -> list[str]:
    """The names of every public dataset (CKAN ``package_list``)."""
    return list(
        datasets_visible(None)
        .exclude(state=Dataset.State.WITHDRAWN)
        .order_by("name")
        .values_list("name", flat=True)
    )


def datasets_by_source_key(*, prefix: str) -> dict[str, Dataset]:
    """Datasets whose ``source_key`` starts with ``prefix`` (the platform's own)."""
    return {
        d.source_key: d
        for d in Dataset.objects.filter(source_key__startswith=prefix).select_related("department")
        if d.source_key
    }


#: Every department's slug, name and names in other languages (the organisation
#: facet's labels), compiled once: the search page shows them on every request.
_DEPARTMENT_NAMES = CompiledQuery(
    Department, lambda: Department.objects.values_list("slug", "name", "names")
)


def facet_labels() -> dict[str, Mapping[str, str]]:
    """How each facet value is shown: departments' names, themes' and licences' titles,
    in the active language."""
    return {
        "organization": {
            slug: localised_name(name, names) for slug, name, names in _DEPARTMENT_NAMES.rows()
        },
        **_vocabulary_labels.get_or_make(get_language(), _vocabulary_labels_now),
    }


#: The themes' and the licences' titles, by language (:func:`_vocabulary_labels_now`).
_vocabulary_labels: Kept[dict[str, Mapping[str, str]]] = Kept()


def _vocabulary_labels_now() -> dict[str, Mapping[str, str]]:
    """The themes' and the licences' titles in the active language: the vocabularies are
    the code's own, so they are translated once per language in a process (the search
    page shows them on every request)."""
    from ecitizen.opendata.vocabularies import LICENCES, THEMES

    return {
        "groups": MappingProxyType({code.lower(): str(label) for code, label in THEMES.items()}),
        "license_id": MappingProxyType({code: licence.title for code, licence in LICENCES.items()}),
    }


def resource_files_named_by_revisions(names: Sequence[str]) -> set[str]:
    """Those of ``names`` (storage names under :data:`RESOURCE_FILES_FOLDER`) that a revision
    of their dataset names. A replaced file stays in storage because the revisions made
    before the replacement still name it: their snapshot lists its resource with its
    checksum and a download address ending in its file name.

    A snapshot entry of the resource without a checksum or an address keeps every file of
    that resource: when unsure, nothing may be deleted. Two queries, whatever the number of
    names: the resources' datasets, then those datasets' revisions (their snapshots read
    one at a time).
    """
    wanted: dict[str, dict[tuple[str, str], str]] = {}
    for name in names:
        parts = name.removeprefix(RESOURCE_FILES_FOLDER).split("/")
        if name.startswith(RESOURCE_FILES_FOLDER) and len(parts) == 3:
            resource_id, short_hash, filename = parts
            wanted.setdefault(resource_id, {})[(short_hash, filename)] = name
    ids = []
    for resource_id in wanted:
        with contextlib.suppress(ValueError):
            ids.append(uuid.UUID(resource_id))
    datasets = set(Resource.objects.filter(pk__in=ids).values_list("dataset_id", flat=True))
    kept: set[str] = set()
    snapshots = DatasetRevision.objects.filter(dataset_id__in=datasets).values_list(
        "snapshot", flat=True
    )
    for snapshot in snapshots.iterator():
        for listed in (snapshot or {}).get("resources") or []:
            files = wanted.get(str(listed.get("id", "")))
            if not files:
                continue
            short_hash = str(listed.get("hash") or "").removeprefix("sha256:")[:12]
            filename = unquote(str(listed.get("url") or "").rsplit("/", 1)[-1])
            if not short_hash or not filename:
                kept.update(files.values())
            elif (short_hash, filename) in files:
                kept.add(files[(short_hash, filename)])
    return kept
