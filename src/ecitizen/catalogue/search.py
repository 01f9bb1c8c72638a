"""Full-text search over the catalogue, one interface over two engines.

SQLite uses an FTS5 table with the Porter stemmer; PostgreSQL uses its own text search
with the language's dictionary. Both look through titles (weighted higher), summaries and
synonyms, require every word first and fall back to any word when that finds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.db import connection

from ecitizen.catalogue.models import Service, ServiceSearchEntry
from ecitizen.catalogue.spec import localised

FTS_TABLE = "catalogue_search_fts"
# PostgreSQL text-search configurations for our languages.
PG_CONFIGS = {"en": "english", "fr": "french", "ar": "arabic"}
MAX_QUERY_WORDS = 8
MIN_OR_WORD = 3
WORD = re.compile(r"\w+", re.UNICODE)


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def search_entries_rebuild(service: Service) -> None:
    """Rewrite the search entries of ``service`` from its current version (inside the
    caller's transaction)."""
    definition = service.current_version.definition if service.current_version else None
    ServiceSearchEntry.objects.filter(service=service).delete()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE service_id = %s", [service.pk])  # noqa: S608 - constant table name
    if definition is None:
        return
    for language in _languages():
        synonyms = definition.get("synonyms", {})
        words = (
            [*synonyms.get(language, []), *synonyms.get("en", [])]
            if language != "en"
            else synonyms.get("en", [])
        )
        entry = ServiceSearchEntry.objects.create(
            service=service,
            language=language,
            title=localised(definition["title"], language),
            body="\n".join([localised(definition["summary"], language), *words]),
        )
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {FTS_TABLE} (service_id, language, title, body) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s)",
                    [service.pk, language, entry.title, entry.body],
                )


def _words(query: str) -> list[str]:
    return WORD.findall(query.lower())[:MAX_QUERY_WORDS]


def _sqlite_search(words: list[str], language: str, operator: str) -> list[int]:
    match = f" {operator} ".join(f'"{word}"*' for word in words)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT service_id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND language = %s "  # noqa: S608
            f"ORDER BY bm25({FTS_TABLE}, 0, 0, 10.0, 1.0)",
            [match, language],
        )
        return [row[0] for row in cursor.fetchall()]


def _postgres_search(words: list[str], language: str, operator: str) -> list[int]:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    config = PG_CONFIGS.get(language, "simple")
    vector = SearchVector("title", weight="A", config=config) + SearchVector(
        "body", weight="B", config=config
    )
    query: SearchQuery | None = None
    for word in words:
        term = SearchQuery(word, config=config, search_type="plain")
        query = term if query is None else (query & term if operator == "AND" else query | term)
    assert query is not None  # callers pass at least one word
    rows = (
        ServiceSearchEntry.objects.annotate(document=vector, rank=SearchRank(vector, query))
        .filter(language=language, document=query)
        .order_by("-rank")
        .values_list("service_id", flat=True)
    )
    return list(rows)


def search_service_ids(query: str, language: str) -> list[int]:
    """Ids of the services matching ``query`` in ``language``, best first."""
    words = _words(query)
    if not words:
        return []
    engine = _sqlite_search if connection.vendor == "sqlite" else _postgres_search
    found = engine(words, language, "AND")
    # Then any one word, leaving out short ones ("or", "a", "of") that match everything.
    longer = [word for word in words if len(word) >= MIN_OR_WORD]
    if not found and len(words) > 1 and longer:
        found = engine(longer, language, "OR")
    return list(dict.fromkeys(found))


def ordered(services: Iterable[Service], ids: list[int]) -> list[Service]:
    position = {pk: index for index, pk in enumerate(ids)}
    return sorted(services, key=lambda s: position.get(s.pk, len(ids)))
