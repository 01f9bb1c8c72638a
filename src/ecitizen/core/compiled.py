"""Reads, inserts and updates compiled to SQL once per process and database, then run
with new values.

Building a query in Django's ORM costs more Python than PostgreSQL spends running it: the
user every signed-in request fetches took 0.8 ms to build and run, against 0.37 ms for the
same SQL run directly (measured on PostgreSQL; docs/performance.md, "Load"). For the few
fixed-shape reads that every request makes, a :class:`CompiledQuery` is written with the
ORM as usual and compiled once with sample values; afterwards only its SQL runs, with the
request's values in the samples' places, and its rows become what the queryset would have
given: model instances with their ``select_related`` objects and annotations, every value
converted as the ORM converts it (encrypted fields decrypt, SQLite's 0 or 1 for an
``EXISTS`` becomes a bool).

Each varying value is named with the model field whose database form it takes
(``field.get_db_prep_value``): a UUID is a string of hex digits on SQLite and a UUID on
PostgreSQL, a date-time is adapted by the backend, as the ORM does. Everything else in the
query (constants, joins, the columns) is fixed when it is compiled. What is kept follows
the settings: a change of settings (tests) compiles again.

How rows become objects is Django's own (the compiler's ``select``, ``klass_info`` and
converters, ``get_related_populators``, ``Model.from_db``), kept from the compilation: that
is the part of ``ModelIterable`` that does not depend on the values. Those are internals
of Django 5.2, the version this platform is held to (ADR 0001); ``core/tests/
test_compiled.py`` compares every shape used here with the queryset's own result.

What the ORM would do differently with a value is refused rather than done silently: a
value of ``None`` (the ORM writes ``IS NULL``, compiled SQL has ``= %s``); a text sample
that the lookup changes (``iexact``, ``contains``, ``startswith`` escape it or wrap it in
``%``: the sample is compiled with ``%_\\`` added and must come out unchanged); a queryset
with its own database (``using()``), ``prefetch_related`` or another model; ``value()`` on
a query of objects or of several columns. A ``select_for_update()`` query runs only inside
a transaction, as the ORM's (``TransactionManagementError`` otherwise).

:class:`CompiledInsert` does the same for the ``INSERT`` of a new row: compiled once from
Django's own ``InsertQuery``, then run with each instance's values prepared as
``Model.save()`` prepares them; :class:`CompiledUpdate` for ``save(update_fields=...)``.

:meth:`CompiledQuery.objects_shared` also keeps the instances made from the last rows
read, and makes them again only when the rows differ: for the few rows of reference data
most pages read, whose instances cost more to make than the query to run.

On PostgreSQL, a compiled statement is also **prepared** on each connection that runs it
often (``DATABASE_PREPARED_STATEMENTS``, on by default: :func:`statement_cursor`). Its
values are then bound on the server, and PostgreSQL parses and plans it once per
connection instead of on every run: its CPU per request fell by a quarter to a third on
the application journey (docs/performance.md, "Load"). Only these statements, whose
shapes are fixed, tested and few: everything else the ORM runs keeps Django's client-side
binding and is never prepared, so the ORM's behaviour, and its queries with more values
than the protocol's 65,535, are unchanged. ``core/tests/test_compiled.py`` checks both.

Use it only where the profile shows the ORM's building cost on every request: a compiled
query does not see a later change to the code that built it in a running process.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, models, router, transaction
from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
    TIMESTAMPTZ_OID,  # both defined with psycopg 3, which ecitizen requires
    ServerBindingCursor,
)
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import NOT_PROVIDED, QuerySet, signals
from django.db.models.query import ModelIterable, get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql import InsertQuery
from django.db.transaction import TransactionManagementError
from psycopg import errors as psycopg_errors
from psycopg.pq import Format

from ecitizen.core.processcache import Kept

ModelT = TypeVar("ModelT", bound=models.Model)

#: How many sets of values :meth:`CompiledQuery.objects_shared` keeps per query.
SHARED_KEPT = 32

#: Values no reader can change in place: what a query's repeated text may share.
_IMMUTABLE = (str, int, float, bool, date, Decimal, UUID, type(None))


#: Runs of a compiled statement on a connection before psycopg prepares it (psycopg's own
#: default): a statement run once or twice costs no preparing.
PREPARE_THRESHOLD = 5

#: What PostgreSQL answers when a statement prepared on a connection no longer serves:
#: a column it reads has changed type since (0A000, "cached plan must not change result
#: type", after a migration), or the statement is gone from the session (26000, after
#: a pooler's or an administrator's ``DEALLOCATE``).
_STALE_STATEMENT = frozenset({"0A000", "26000"})


@contextmanager
def statement_cursor(alias: str) -> Iterator[Any]:
    """A cursor of database ``alias`` for a compiled statement, closed on leaving.

    On PostgreSQL with ``DATABASE_PREPARED_STATEMENTS`` on, a cursor that binds its
    values on the server and lets psycopg prepare a statement once it has run
    :data:`PREPARE_THRESHOLD` times on the connection (:class:`_StatementCursor`).
    Otherwise (SQLite, or prepared statements off for a connection pooler that cannot
    keep them) Django's usual cursor. Either way it is wrapped as Django wraps its own
    (query logging, ``execute_wrappers``, database errors), after the same health check
    and connection."""
    connection = connections[alias]
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    # What BaseDatabaseWrapper.cursor() does, with a cursor of our own class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _server_binding_cursor(connection)
    connection.validate_thread_sharing()
    wrapper = _LoggedStatementCursor if connection.queries_logged else _StatementCursor
    with wrapper(raw, connection) as cursor:
        yield cursor


def _server_binding_cursor(connection: Any) -> Any:
    """A psycopg cursor on ``connection``'s open connection that binds values on the
    server, reading times in the connection's zone (as ``create_cursor()`` does)."""
    raw = ServerBindingCursor(connection.connection)
    loader = raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != getattr(loader, "timezone", None):
        register_tzloader(connection.timezone, raw)
    return raw


class _StatementCursor(CursorWrapper):
    """Django's cursor wrapper for compiled statements, which psycopg may prepare.

    psycopg prepares only while its connection's ``prepare_threshold`` is set; Django
    leaves it unset. It is set here for the run of a compiled statement alone: the ORM's
    queries (bound in the client, never prepared) are then not even counted in psycopg's
    cache of statements, which would otherwise keep their text, values included, for the
    connection's life.

    A prepared statement that no longer serves (:data:`_STALE_STATEMENT`: a migration
    changed a column it reads while this process ran) fails every run on its connection.
    Outside a transaction, the connection is closed and the statement runs once more on
    a new one, where it is prepared afresh: nothing was written, nothing is lost. Inside a
    transaction the error is raised: the transaction has failed, and its rollback clears
    psycopg's statements, so the next run prepares them again."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        try:
            return self._run(sql, params)
        except DatabaseError as error:
            stale = getattr(error.__cause__, "sqlstate", None) in _STALE_STATEMENT
            if not stale or self.db.in_atomic_block:
                raise
        self.db.close()
        self.db.ensure_connection()
        with self.db.wrap_database_errors:
            self.cursor = _server_binding_cursor(self.db)
        return self._run(sql, params)

    def _run(self, sql: Any, params: Any) -> Any:
        driver = self.cursor.connection
        unset = driver.prepare_threshold  # Django's None, unless OPTIONS set one
        driver.prepare_threshold = PREPARE_THRESHOLD
        try:
            return CursorWrapper.execute(self, sql, params)
        finally:
            driver.prepare_threshold = unset


class _LoggedStatementCursor(_StatementCursor, CursorDebugWrapper):
    """:class:`_StatementCursor` with Django's query log (``DEBUG``, a test's count of
    queries). Django logs the text the driver last sent, which psycopg does not keep for a
    prepared statement's run: the statement is logged with its values composed in, as
    Django logs it when the whole connection binds on the server (``None`` where Django's
    would be too: a value that cannot be written as SQL)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        try:
            logged = self.db.ops.compose_sql(sql, params)
        except psycopg_errors.DataError:
            logged = None
        with self.debug_sql(logged):
            return _StatementCursor.execute(self, sql, params)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: The parameters, with the samples in the places :attr:`positions` names.
    params: tuple[Any, ...]
    positions: dict[str, int]
    #: Columns the rows keep (a compiler may select more, for ordering).
    width: int
    #: Column position: (converters, expression), as ``SQLCompiler.get_converters``.
    converters: dict[int, tuple[list[Any], Any]]
    #: How a row becomes a model instance; ``None`` for a ``values()`` query.
    rows_to_objects: _RowsToObjects | None
    #: A ``values()`` query of one column: what :meth:`CompiledQuery.value` reads.
    one_value: bool
    #: Its SQL locks the rows it reads (``select_for_update()`` on a database that can).
    locks: bool


@dataclass(frozen=True)
class _RowsToObjects:
    model: type[models.Model]
    start: int
    end: int
    init_list: list[str]
    related_populators: list[Any]
    annotation_columns: dict[str, int]


class CompiledQuery(Generic[ModelT]):
    """One query shape of ``model``, built by ``build(**samples)``.

    ``samples`` gives each varying value a name, a sample value and the field whose
    database form it takes; each sample must appear exactly once among the compiled
    query's parameters, unchanged by its lookup (checked at the first run on each
    database: an ``ImproperlyConfigured`` names the one that does not), so choose samples
    no constant of the query can equal.
    """

    def __init__(
        self,
        model: type[ModelT],
        build: Callable[..., QuerySet[Any]],
        **samples: tuple[Any, models.Field[Any, Any]],
    ) -> None:
        self.model = model
        self._build = build
        self._samples = samples
        self._compiled: Kept[_Compiled] = Kept()
        #: Whether the query locks its rows, known once it is first built.
        self._locks: bool | None = None
        #: :meth:`objects_shared`: by database and values, the rows last read and the
        #: instances made from them; forgotten with a change of settings, which may
        #: convert the same rows otherwise (an encrypted field's keys).
        self._shared: Kept[dict[Hashable, tuple[list[tuple[Any, ...]], list[ModelT]]]] = Kept()

    def objects(self, *, using: str | None = None, **values: Any) -> list[ModelT]:
        """The model instances the queryset would give for ``values``, read from ``using``
        or else from the database the routers choose (:meth:`_alias`). Precondition:
        ``build`` returns a queryset of model instances (not ``values()``)."""
        alias = self._alias(using)
        compiled = self._compile(alias)
        return self._instances(alias, compiled, self._rows(alias, compiled, values))

    def objects_shared(self, *, using: str | None = None, **values: Any) -> list[ModelT]:
        """:meth:`objects`, the instances made again only when the rows read differ from
        those of the last call with the same values on the same database. The query runs
        on every call, so what it gives is never stale; but the instances are shared by
        the calls, in every thread, and **must not be changed** (the list is the
        caller's own). For a few dozen rows that most pages read (the published
        services): making their instances, with their related objects, cost three times
        the query. At most :data:`SHARED_KEPT` sets of values are kept."""
        alias = self._alias(using)
        compiled = self._compile(alias)
        fetched = self._fetch(alias, compiled, values)
        shared = self._shared.get_or_make("by database and values", dict)
        key = (alias, tuple(sorted(values.items())))
        last = shared.get(key)
        if last is not None and last[0] == fetched:
            return list(last[1])
        instances = self._instances(alias, compiled, self._converted(alias, compiled, fetched))
        if len(shared) >= SHARED_KEPT:
            shared.clear()
        shared[key] = (fetched, instances)
        return list(instances)

    def _instances(self, alias: str, compiled: _Compiled, rows: list[list[Any]]) -> list[ModelT]:
        make = compiled.rows_to_objects
        if make is None:
            raise TypeError(f"this {self.model.__name__} query returns values, not objects")
        found = []
        for row in rows:
            instance = make.model.from_db(alias, make.init_list, row[make.start : make.end])
            for populator in make.related_populators:
                populator.populate(row, instance)
            for name, column in make.annotation_columns.items():
                setattr(instance, name, row[column])
            found.append(instance)
        return found  # type: ignore[return-value]

    def first(self, *, using: str | None = None, **values: Any) -> ModelT | None:
        """The first of :meth:`objects` for ``values``, or ``None`` with no row: for the
        queries that find one object at most (by a key), as ``.first()`` would."""
        found = self.objects(using=using, **values)
        return found[0] if found else None

    def value(self, *, using: str | None = None, **values: Any) -> Any:
        """The column of the first row for ``values``, converted as the ORM converts it,
        or ``None`` with no row. Precondition: ``build`` returns a ``values()`` or
        ``values_list()`` queryset of one column."""
        alias = self._alias(using)
        compiled = self._compile(alias)
        if not compiled.one_value:
            raise TypeError(f"this {self.model.__name__} query does not select one value")
        for row in self._rows(alias, compiled, values):
            return row[0]
        return None

    def rows(self, *, using: str | None = None, **values: Any) -> list[list[Any]]:
        """The rows for ``values``, each column converted as the ORM converts it.
        Precondition: ``build`` returns a ``values()`` or ``values_list()`` queryset."""
        alias = self._alias(using)
        compiled = self._compile(alias)
        if compiled.rows_to_objects is not None:
            raise TypeError(f"this {self.model.__name__} query returns objects, not values")
        return self._rows(alias, compiled, values)

    def sql_with_params(self, *, using: str | None = None, **values: Any) -> tuple[str, list[Any]]:
        """The compiled SQL and its parameters for ``values``, to be run inside other SQL
        (as ``queryset.query.sql_with_params()`` gives them), on ``using`` or the
        database the routers choose (:meth:`_alias`)."""
        alias = self._alias(using)
        compiled = self._compile(alias)
        return compiled.sql, self._params(alias, compiled, values)

    def _alias(self, using: str | None) -> str:
        """``using``, else the database the routers choose, as the ORM would: for writing
        when the query locks its rows (``select_for_update()``), else for reading."""
        if using:
            return using
        if self._locks is None:
            self._locks = bool(self._build(**self._probes()).query.select_for_update)
        if self._locks:
            return router.db_for_write(self.model)
        return router.db_for_read(self.model)

    def _params(self, alias: str, compiled: _Compiled, values: Mapping[str, Any]) -> list[Any]:
        if values.keys() != self._samples.keys():
            raise TypeError(
                f"{self.model.__name__} query takes {sorted(self._samples)}, "
                f"was given {sorted(values)}"
            )
        if any(value is None for value in values.values()):
            raise ValueError(
                f"{self.model.__name__} query given None: the ORM would write IS NULL, "
                "which a compiled query cannot"
            )
        connection = connections[alias]
        params = list(compiled.params)
        for name, value in values.items():
            field = self._samples[name][1]
            params[compiled.positions[name]] = field.get_db_prep_value(
                value, connection, prepared=False
            )
        return params

    def _rows(self, alias: str, compiled: _Compiled, values: Mapping[str, Any]) -> list[list[Any]]:
        return self._converted(alias, compiled, self._fetch(alias, compiled, values))

    def _fetch(
        self, alias: str, compiled: _Compiled, values: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows as the database driver gives them."""
        params = self._params(alias, compiled, values)
        with statement_cursor(alias) as cursor:
            cursor.execute(compiled.sql, params)
            fetched: list[tuple[Any, ...]] = cursor.fetchall()
        return fetched

    def _converted(
        self, alias: str, compiled: _Compiled, fetched: list[tuple[Any, ...]]
    ) -> list[list[Any]]:
        """The rows the query keeps, each column converted as the ORM converts it."""
        connection = connections[alias]
        converters = compiled.converters.items()
        # A column's same stored value converted once per query: rows repeat the joined
        # rows' values (a queue's applicant on many of its cases), and converting can
        # cost (an encrypted name decrypts). Kept only for the query's rows, and only a
        # text whose conversion is immutable, so that no two rows share an object one
        # of them could change.
        converted: dict[tuple[int, str], Any] = {}
        rows = []
        for fetched_row in fetched:
            row = list(fetched_row[: compiled.width])
            for position, (convert_all, expression) in converters:
                value = row[position]
                key = (position, value) if type(value) is str else None
                if key is not None and key in converted:
                    row[position] = converted[key]
                    continue
                for convert in convert_all:
                    value = convert(value, expression, connection)
                if key is not None and isinstance(value, _IMMUTABLE):
                    converted[key] = value
                row[position] = value
            rows.append(row)
        return rows

    def _compile(self, alias: str) -> _Compiled:
        """The query compiled for ``alias``; for one that locks rows, only inside a
        transaction (``TransactionManagementError``, as the ORM's compiler: a lock taken
        in autocommit would end with its statement)."""
        connection = connections[alias]
        compiled = self._compiled.get_or_make(
            (alias, connection.vendor), lambda: self._compiled_for(alias)
        )
        if (
            compiled.locks
            and connection.get_autocommit()
            and connection.features.supports_transactions
        ):
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        return compiled

    def _compiled_for(self, alias: str) -> _Compiled:
        connection = connections[alias]
        probes = self._probes()
        queryset = self._build(**probes)
        self._check_plain(queryset)
        compiler = queryset.query.get_compiler(using=alias)
        # as_sql() also sets up what ModelIterable reads: select, klass_info, annotations.
        sql, params = compiler.as_sql()
        positions = {}
        for name, (_sample, field) in self._samples.items():
            prepared = field.get_db_prep_value(probes[name], connection, prepared=False)
            found = [
                index
                for index, param in enumerate(params)
                if type(param) is type(prepared) and param == prepared
            ]
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"The sample of {name!r} appears {len(found)} times in the compiled "
                    f"{self.model.__name__} query; it must appear once."
                )
            positions[name] = found[0]
        select = compiler.select[: compiler.col_count]
        rows_to_objects = None
        # A values() query has a klass_info too, but gives rows, not objects.
        returns_objects = queryset._iterable_class is ModelIterable
        if returns_objects and compiler.klass_info is not None:
            fields = compiler.klass_info["select_fields"]
            start, end = fields[0], fields[-1] + 1
            rows_to_objects = _RowsToObjects(
                model=compiler.klass_info["model"],
                start=start,
                end=end,
                init_list=[column[0].target.attname for column in select[start:end]],
                related_populators=get_related_populators(
                    compiler.klass_info, compiler.select, alias
                ),
                annotation_columns=dict(compiler.annotation_col_map or {}),
            )
        return _Compiled(
            sql=sql,
            params=tuple(params),
            positions=positions,
            width=compiler.col_count,
            converters=compiler.get_converters([column[0] for column in select]),
            rows_to_objects=rows_to_objects,
            one_value=not returns_objects and compiler.col_count == 1,
            locks=bool(queryset.query.select_for_update)
            and connection.features.has_select_for_update,
        )

    def _probes(self) -> dict[str, Any]:
        """What ``build`` is given to compile: each sample's :func:`_probe`."""
        return {name: _probe(sample) for name, (sample, _) in self._samples.items()}

    def _check_plain(self, queryset: QuerySet[Any]) -> None:
        """Refuse what the compiled query would not do as the queryset would."""
        state = vars(queryset)  # the queryset's own settings, as ModelIterable reads them
        refused = [
            what
            for what, present in (
                (f"a queryset of {queryset.model.__name__}", queryset.model is not self.model),
                ("using()", state["_db"] is not None),
                ("prefetch_related()", bool(state["_prefetch_related_lookups"])),
                ("related objects already known", bool(state["_known_related_objects"])),
            )
            if present
        ]
        if refused:
            raise ImproperlyConfigured(
                f"A compiled {self.model.__name__} query cannot have {', '.join(refused)}."
            )


def _probe(sample: Any) -> Any:
    """The value a sample is compiled with: text with the characters a ``LIKE`` lookup
    escapes or adds, so that such a lookup (whose value the compiled query could not
    prepare as it does) changes it and is found out."""
    return f"{sample}%_\\" if isinstance(sample, str) else sample


@contextmanager
def _saving(
    instance: models.Model, alias: str, *, update_fields: frozenset[str] | None
) -> Iterator[None]:
    """What ``save()`` does around the write of ``instance`` to ``alias`` (the body):
    ``pre_save`` first; then the instance marked as saved there, and ``post_save``
    (``created`` when it was new). An error in the body sends no ``post_save``. (The
    body runs its statement under ``transaction.mark_for_rollback_on_error``, as
    ``save()`` does, so that a caller who catches its error cannot commit the rest of
    its work without this row.)"""
    origin = type(instance)
    created = instance._state.adding
    signals.pre_save.send(
        sender=origin, instance=instance, raw=False, using=alias, update_fields=update_fields
    )
    yield
    instance._state.adding = False
    instance._state.db = alias
    signals.post_save.send(
        sender=origin,
        instance=instance,
        created=created,
        update_fields=update_fields,
        raw=False,
        using=alias,
    )


def _saved_values(
    instance: models.Model,
    fields: Sequence[models.Field[Any, Any]],
    connection: Any,
    *,
    adding: bool,
) -> list[Any]:
    """The database values of ``fields`` of ``instance`` as ``save()`` prepares them for
    an insert (``adding``) or an update: each field's ``pre_save`` (which may set the
    instance's attribute: ``auto_now``) then ``get_db_prep_save``. ``TypeError`` for a
    value that is an expression, which only the ORM's compilers can write."""
    values = []
    for field in fields:
        value = field.pre_save(instance, adding)
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"{field.name} is an expression: save() the instance instead")
        values.append(field.get_db_prep_save(value, connection))
    return values


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    #: The fields whose values the SQL takes, in its order.
    fields: tuple[models.Field[Any, Any], ...]
    #: The new row's primary key comes back from the statement itself (``RETURNING``);
    #: else it is asked for afterwards (``last_insert_id``).
    returns_key: bool


class CompiledInsert(Generic[ModelT]):
    """The ``INSERT`` of one new ``model`` instance, compiled once per process and
    database by Django's own ``InsertQuery``; afterwards :meth:`insert` only prepares the
    instance's values and runs the SQL. For rows appended on every request (the audit
    trail), whose ``save()`` cost more Python than the database spent on them.

    :meth:`insert` writes what ``save()`` writes for a new instance: every concrete field
    but the automatic key, each value through the field's ``pre_save`` (``auto_now_add``
    sets the instance's attribute, as it does there) and ``get_db_prep_save``; it sets the
    new primary key and marks the instance saved; around it, what ``save()`` does
    (:func:`_saving`: the ``pre_save`` and ``post_save`` signals, on which the fault tests
    hold a process after an audit event's commit; the rollback mark on an error). It
    calls no overridden ``save()``: use it only for a model whose ``save()`` adds nothing
    an insert needs. Refused (``ImproperlyConfigured``): a model with parents, foreign
    keys, a primary key that is not automatic, a field with its own SQL placeholder,
    database defaults or generated fields; (``ValueError``) an instance already saved or
    given a key; (``TypeError``) a value that is an expression.
    """

    def __init__(self, model: type[ModelT]) -> None:
        meta = model._meta
        refused = [
            what
            for what, present in (
                ("parents", bool(meta.parents)),
                ("foreign keys", any(field.is_relation for field in meta.concrete_fields)),
                ("a primary key that is not automatic", meta.auto_field is not meta.pk),
                (
                    "a field with its own placeholder",
                    any(hasattr(field, "get_placeholder") for field in meta.concrete_fields),
                ),
                (
                    "database defaults or generated fields",
                    any(
                        field.db_default is not NOT_PROVIDED or field.generated
                        for field in meta.concrete_fields
                    ),
                ),
            )
            if present
        ]
        if refused:
            raise ImproperlyConfigured(
                f"A compiled insert of {model.__name__} cannot have {', '.join(refused)}."
            )
        self.model = model
        self._fields = tuple(field for field in meta.local_concrete_fields if field is not meta.pk)
        self._compiled: Kept[_CompiledInsert] = Kept()

    def insert(self, instance: ModelT, *, using: str | None = None) -> None:
        """Write ``instance`` (new: ``instance._state.adding``) as ``save()`` would, to
        ``using`` or the database the routers choose for writing it. Side effects: sets
        ``instance.pk`` and marks it saved to that database."""
        if not instance._state.adding:
            raise ValueError(f"this {self.model.__name__} is already saved")
        if instance.pk is not None:
            raise ValueError(f"this new {self.model.__name__} has a key: save() it instead")
        alias = using or router.db_for_write(type(instance), instance=instance)
        connection = connections[alias]
        compiled = self._compiled.get_or_make(
            (alias, connection.vendor), lambda: self._compiled_for(alias)
        )
        meta = self.model._meta
        with _saving(instance, alias, update_fields=None):
            params = _saved_values(instance, compiled.fields, connection, adding=True)
            with transaction.mark_for_rollback_on_error(alias), statement_cursor(alias) as cursor:
                cursor.execute(compiled.sql, params)
                if compiled.returns_key:
                    (key,) = connection.ops.fetch_returned_insert_columns(cursor, ())
                else:
                    key = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
            instance.pk = key

    def _compiled_for(self, alias: str) -> _CompiledInsert:
        connection = connections[alias]
        query = InsertQuery(self.model)
        # Compiled with a blank instance: its values are thrown away, only the SQL kept.
        query.insert_values(self._fields, [self.model()])
        compiler = query.get_compiler(using=alias)
        compiler.returning_fields = [self.model._meta.pk]  # as save() asks for a new row
        [(sql, params)] = compiler.as_sql()
        if compiler.returning_params or len(params) != len(self._fields):
            # (A backend's own RETURNING parameters, Oracle's output variables, are
            # bound to a cursor: they cannot be kept.)
            raise ImproperlyConfigured(
                f"The compiled insert of {self.model.__name__} takes {len(params)} "
                f"parameters for {len(self._fields)} fields."
            )
        return _CompiledInsert(
            sql=sql,
            fields=self._fields,
            returns_key=connection.features.can_return_columns_from_insert,
        )


class CompiledUpdate(Generic[ModelT]):
    """``instance.save(update_fields=fields)`` for a saved instance of ``model``, its
    ``UPDATE table SET a = %s, ... WHERE table.pk = %s`` written once per process and
    database from the model's names (Django's compiler writes the same statement, with a
    literal ``NULL`` for a value of ``None`` where this passes it as a parameter); for
    rows written on every request (the audit trail's head, an application's answers).

    :meth:`update` writes what that ``save()`` writes: each field's ``pre_save`` (an
    ``auto_now`` date-time set on the instance, as there) and ``get_db_prep_save``, on the
    database the routers choose for writing the instance; ``DatabaseError`` when no row
    was updated, as that ``save()`` raises; around it, what ``save()`` does
    (:func:`_saving`: the signals, the rollback mark on an error). It calls no overridden
    ``save()``. Refused (``ImproperlyConfigured``): the primary key, a composite key, a
    field named twice, a field that is not a column of the model's own table, a foreign
    key (``save()`` checks the related object first), a generated field, a field with its
    own SQL placeholder; (``ValueError``) an instance not saved yet or of another model;
    (``TypeError``) a value that is an expression.

    ``guards``: columns whose values :meth:`update_unless_changed` requires the row to
    still have (optimistic concurrency: the write happens only if nobody changed the row
    since it was read); the same refusals apply to them.
    """

    def __init__(
        self, model: type[ModelT], fields: Sequence[str], *, guards: Sequence[str] = ()
    ) -> None:
        meta = model._meta
        found = [meta.get_field(name) for name in fields]
        guarded = [meta.get_field(name) for name in guards]
        checked = [*found, *guarded]
        refused = [
            what
            for what, present in (
                ("parents", bool(meta.parents)),
                ("the primary key", any(field is meta.pk for field in checked)),
                ("a composite primary key", bool(getattr(meta, "is_composite_pk", False))),
                (
                    "a field named twice",
                    len(set(found)) != len(found) or len(set(guarded)) != len(guarded),
                ),
                (
                    "a field that is not its own column",
                    any(field not in meta.local_concrete_fields for field in checked),
                ),
                ("a foreign key", any(field.is_relation for field in checked)),
                (
                    "a generated field",
                    any(getattr(field, "generated", False) for field in checked),
                ),
                (
                    "a field with its own placeholder",
                    any(hasattr(field, "get_placeholder") for field in checked),
                ),
            )
            if present
        ]
        if refused or not found:
            raise ImproperlyConfigured(
                f"A compiled update of {model.__name__} cannot have "
                f"{', '.join(refused) or 'no field'}."
            )
        self.model = model
        self._fields: tuple[models.Field[Any, Any], ...] = tuple(found)  # type: ignore[arg-type]
        self._guards: tuple[models.Field[Any, Any], ...] = tuple(guarded)  # type: ignore[arg-type]
        self._sql: Kept[str] = Kept()

    def update(self, instance: ModelT, *, using: str | None = None) -> None:
        """Write the fields of ``instance`` (saved) to its row, on ``using`` or the
        database the routers choose for writing it. Side effects: each field's
        ``pre_save`` (``auto_now`` sets the instance's date-time); the instance is marked
        as belonging to that database."""
        self._write(instance, using=using, expected=None)

    def update_unless_changed(
        self, instance: ModelT, *, expected: Mapping[str, Any], using: str | None = None
    ) -> bool:
        """:meth:`update`, only if the row's ``guards`` still hold the values
        ``expected`` gives (by field name; ``None`` is refused: a column is never equal to
        NULL). Returns whether the row was written: ``False`` when it changed or is gone
        since it was read, and then no ``post_save`` is sent (``pre_save`` was, and the
        instance's ``auto_now`` fields were set, as a ``save()`` that fails leaves them).
        One statement: without a transaction it locks nothing but for its own write."""
        if set(expected) != {field.name for field in self._guards}:
            raise ValueError(f"expected: give exactly {[field.name for field in self._guards]}")
        if any(value is None for value in expected.values()):
            raise ValueError("expected: None never equals a column: guard another field")
        return self._write(instance, using=using, expected=expected)

    def _write(
        self, instance: ModelT, *, using: str | None, expected: Mapping[str, Any] | None
    ) -> bool:
        if not isinstance(instance, self.model):
            raise ValueError(f"not a {self.model.__name__}: {type(instance).__name__}")
        if instance._state.adding or instance.pk is None:
            raise ValueError(f"this {self.model.__name__} is not saved yet: save() it instead")
        alias = using or router.db_for_write(type(instance), instance=instance)
        connection = connections[alias]
        guarded = expected is not None
        sql = self._sql.get_or_make(
            (alias, connection.vendor, guarded), lambda: self._written(alias, guarded=guarded)
        )
        update_fields = frozenset(field.name for field in self._fields)
        try:
            with _saving(instance, alias, update_fields=update_fields):
                params = _saved_values(instance, self._fields, connection, adding=False)
                params.append(
                    self.model._meta.pk.get_db_prep_value(instance.pk, connection, prepared=False)
                )
                if expected is not None:
                    params.extend(
                        field.get_db_prep_value(expected[field.name], connection, prepared=False)
                        for field in self._guards
                    )
                with (
                    transaction.mark_for_rollback_on_error(alias),
                    statement_cursor(alias) as cursor,
                ):
                    cursor.execute(sql, params)
                    written = cursor.rowcount == 1
                    if not written and not guarded:  # as save() raises it, marking the rollback
                        raise DatabaseError("Save with update_fields did not affect any rows.")
                if not written:
                    raise _NotWritten  # outside the rollback mark: the caller's answer, no error
        except _NotWritten:
            return False
        return True

    def _written(self, alias: str, *, guarded: bool) -> str:
        quote = connections[alias].ops.quote_name
        meta = self.model._meta
        table = quote(meta.db_table)
        columns = ", ".join(f"{quote(field.column)} = %s" for field in self._fields)
        conditions = [f"{table}.{quote(meta.pk.column)} = %s"]
        if guarded:
            conditions.extend(f"{table}.{quote(field.column)} = %s" for field in self._guards)
        return f"UPDATE {table} SET {columns} WHERE {' AND '.join(conditions)}"  # noqa: S608 - names from the model


class _NotWritten(Exception):
    """No row was written by an update (``_saving`` then sends no ``post_save``)."""
