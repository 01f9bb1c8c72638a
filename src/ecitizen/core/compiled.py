"""Reads compiled to SQL once per process and database, then run with new values.

Building a query in Django's ORM costs more Python than PostgreSQL spends running it: the
user every signed-in request fetches took 0.8 ms to build and run, against 0.37 ms for the
same SQL run directly (measured on PostgreSQL; docs/performance.md, "Load"). For the few
fixed-shape reads that every request makes, a :class:`CompiledQuery` is written with the
ORM as usual, compiled once with sample values, and afterwards run through Django's
``raw()`` (model instances, with the fields' converters: encrypted fields decrypt as they
do from a queryset) or a cursor (one value), with the request's values in the samples'
places.

Each varying value is named with the model field whose database form it takes
(``field.get_db_prep_value``): a UUID is a string of hex digits on SQLite and a UUID on
PostgreSQL, a date-time is adapted by the backend, as the ORM does. Everything else in the
query (constants, joins, the columns) is fixed when it is compiled. What is kept follows
the settings: a change of settings (tests) compiles again.

Use it only where the profile shows the ORM's building cost on every request: a compiled
query does not see a later change to the code that built it in a running process, and
``raw()`` cannot follow ``select_related``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router
from django.db.models import QuerySet

from ecitizen.core.processcache import Kept

ModelT = TypeVar("ModelT", bound=models.Model)

#: (SQL, its parameters with the samples, the position of each named value, the query's
#: annotations by name).
_Compiled = tuple[str, tuple[Any, ...], dict[str, int], dict[str, Any]]


class CompiledQuery(Generic[ModelT]):
    """One query shape of ``model``, built by ``build(**samples)``.

    ``samples`` gives each varying value a name, a sample value and the field whose
    database form it takes; each sample must appear exactly once among the compiled
    query's parameters (checked at the first run on each database: an
    ``ImproperlyConfigured`` names the one that does not), so choose samples no constant of
    the query can equal.
    """

    def __init__(
        self,
        model: type[ModelT],
        build: Callable[..., QuerySet[ModelT]] | Callable[..., QuerySet[Any]],
        **samples: tuple[Any, models.Field[Any, Any]],
    ) -> None:
        self.model = model
        self._build = build
        self._samples = samples
        self._compiled: Kept[_Compiled] = Kept()

    def objects(self, *, using: str | None = None, **values: Any) -> list[ModelT]:
        """The model instances the query returns for ``values`` (read from ``using``, else
        from the database the routers choose for reading ``model``); an annotation of the
        query is an attribute of each instance, as with a queryset."""
        alias = using or router.db_for_read(self.model)
        sql, params = self._statement(alias, values)
        found = list(self.model._default_manager.db_manager(alias).raw(sql, params))
        # raw() converts the model's fields only: an annotation gets the conversions the
        # ORM would give it (SQLite's 0 or 1 for an EXISTS becomes False or True).
        connection = connections[alias]
        for name, expression in self._compile(alias)[3].items():
            converters = [
                *connection.ops.get_db_converters(expression),
                *expression.get_db_converters(connection),
            ]
            for instance in found:
                value = getattr(instance, name)
                for convert in converters:
                    value = convert(value, expression, connection)
                setattr(instance, name, value)
        return found

    def value(self, *, using: str | None = None, **values: Any) -> Any:
        """The first column of the first row for ``values``, or ``None`` with no row."""
        alias = using or router.db_for_read(self.model)
        sql, params = self._statement(alias, values)
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None else row[0]

    def _statement(self, alias: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        if values.keys() != self._samples.keys():
            raise TypeError(
                f"{self.model.__name__} query takes {sorted(self._samples)}, "
                f"was given {sorted(values)}"
            )
        sql, params, positions, _annotations = self._compile(alias)
        connection = connections[alias]
        filled = list(params)
        for name, value in values.items():
            field = self._samples[name][1]
            filled[positions[name]] = field.get_db_prep_value(value, connection, prepared=False)
        return sql, filled

    def _compile(self, alias: str) -> _Compiled:
        connection = connections[alias]
        key = (alias, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        queryset = self._build(**{name: sample for name, (sample, _) in self._samples.items()})
        sql, params = queryset.query.get_compiler(using=alias).as_sql()
        positions = {}
        for name, (sample, field) in self._samples.items():
            prepared = field.get_db_prep_value(sample, connection, prepared=False)
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
        annotations = dict(queryset.query.annotation_select)
        return self._compiled.put(key, (sql, tuple(params), positions, annotations))
