"""CKAN's DataStore actions (``ckanext/datastore/logic/action.py``): ``datastore_search``,
``datastore_search_sql`` (only when ``DATASTORE_SQL_ENABLED``), ``datastore_info``, and,
for API tokens with a publisher's rights, ``datastore_create`` and ``datastore_upsert``.
The docstrings are ``help_show``'s text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from ecitizen.core.errors import PermissionDenied
from ecitizen.opendata import datastore, selectors, services
from ecitizen.opendata.ckan.registry import (
    ActionContext,
    CkanError,
    NotAuthorized,
    NotFound,
    ValidationError,
    action,
)
from ecitizen.opendata.models import Resource

RECORDS_FORMATS = {"objects", "lists", "csv", "tsv"}
#: The parameters ``datastore_search`` repeats in its result, as CKAN does.
ECHOED = ("filters", "q", "sort", "distinct", "plain", "language", "full_text")


class BadRequest(CkanError):
    """CKAN's answer to an action it does not have (``datastore_search_sql`` while the
    SQL endpoint is off)."""

    status = 400
    type_name = "Bad request"


def _invalid(key: str, message: str) -> ValidationError:
    return ValidationError(fields={key: [message]})


def _json_param(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    if isinstance(value, str) and value.strip()[:1] in {"{", "["}:
        try:
            return json.loads(value)
        except ValueError:
            if key == "q":
                return value  # text that happens to start with a bracket
            raise _invalid(key, _("Could not parse as valid JSON")) from None
    return value


def _boolean(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on", "t", "y"}:
        return True
    if text in {"false", "0", "no", "off", "f", "n"}:
        return False
    raise _invalid(key, _("Use true or false"))


def _resource_id(data: Mapping[str, Any], key: str = "resource_id") -> str:
    value = data.get(key)
    if value is None or value == "" or isinstance(value, (list, dict)):
        raise _invalid(key, _("Missing value"))
    return str(value).strip()


def _readable(context: ActionContext, resource_id: str) -> Resource:
    """A resource the caller may read that has a DataStore table; else Not Found."""
    try:
        resource = selectors.resource_by_id_for_reader(user=context.user, resource_id=resource_id)
    except selectors.DatasetNotFound:
        raise NotFound(_("Resource “%(id)s” was not found.") % {"id": resource_id}) from None
    if resource.datastore_state != Resource.DatastoreState.LOADED:
        raise NotFound(_("Resource “%(id)s” was not found.") % {"id": resource_id})
    return resource


@contextmanager
def _errors() -> Iterator[None]:
    """The DataStore's and the services' errors as CKAN's."""
    try:
        yield
    except datastore.QueryInvalid as error:
        raise _invalid(error.field, str(error)) from None
    except datastore.TableMissing as error:
        raise NotFound(str(error)) from None
    except datastore.DatastoreError as error:
        raise ValidationError(fields={"query": [str(error)]}) from None
    except services.DatasetInvalid as error:
        raise ValidationError(fields=error.errors) from None
    except services.ResourceInvalid as error:
        raise _invalid(error.field, str(error)) from None
    except PermissionDenied as error:
        raise NotAuthorized(str(error)) from None
    except services.OpendataError as error:
        raise _invalid("resource_id", str(error)) from None


def _link(params: Mapping[str, Any]) -> str:
    path = reverse("opendata:ckan_action", kwargs={"logic_function": "datastore_search"})
    flat = {
        k: json.dumps(v) if isinstance(v, (dict, list)) else v
        for k, v in params.items()
        if v is not None
    }
    return path + "?" + urlencode(flat)


def _cell(value: Any) -> Any:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else value


def _delimited(rows: list[list[Any]], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


@action("datastore_search", side_effect_free=True)
def datastore_search(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Search a DataStore resource.

    :param resource_id: id of the resource to search
    :param filters: matching conditions, e.g. {"ward": "North"} or {"ward": ["North", "South"]}
    :param q: full text over every field (a string), or per field ({"species": "oak"})
    :param fields: fields to return, as a list or comma-separated (default: all)
    :param sort: comma-separated fields, each optionally "desc", e.g. "planted desc, id"
    :param limit: rows to return (default 100, at most 32000)
    :param offset: rows to skip
    :param include_total: whether to count every matching row (default true)
    :param distinct: only distinct rows (default false)
    :param records_format: objects (default), lists, csv or tsv
    """
    resource_id = _resource_id(data)
    resource = _readable(context, resource_id)
    records_format = str(data.get("records_format") or "objects")
    if records_format not in RECORDS_FORMATS:
        raise _invalid("records_format", _("Use objects, lists, csv or tsv."))
    q = _json_param(data, "q")
    if q in (None, "") and isinstance(data.get("full_text"), str):
        q = data["full_text"]
    fields = _json_param(data, "fields")
    sort = _json_param(data, "sort")
    include_total = _boolean(data, "include_total", True)
    distinct = _boolean(data, "distinct", False)
    with _errors():
        result = datastore.table_search(
            resource=resource,
            filters=_json_param(data, "filters"),
            q=q,
            fields=fields,
            sort=sort,
            limit=data.get("limit"),
            offset=data.get("offset"),
            include_total=include_total,
            distinct=distinct,
        )
    records: Any
    if records_format == "objects":
        records = result.records
    elif records_format == "lists":
        records = result.rows
    else:
        records = _delimited(result.rows, "," if records_format == "csv" else "\t")
    link_params = {
        key: data[key]
        for key in ("resource_id", *ECHOED, "fields", "records_format", "include_total")
        if data.get(key) not in (None, "")
    }
    if "limit" in data:
        link_params["limit"] = result.limit
    body: dict[str, Any] = {
        "include_total": include_total,
        "resource_id": str(resource.id),
        "fields": result.fields,
        "records_format": records_format,
        "records": records,
        "limit": result.limit,
        "offset": result.offset,
        "_links": {
            "start": _link(link_params),
            "next": _link({**link_params, "offset": result.offset + result.limit}),
        },
        "total_was_estimated": False,
    }
    for key in ECHOED:
        if data.get(key) not in (None, ""):
            body[key] = _json_param(data, key) if key in {"filters", "q"} else data[key]
    if result.total is not None:
        body["total"] = result.total
    return body


@action("datastore_info", side_effect_free=True)
def datastore_info(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """A DataStore table's fields and size.

    :param id: id of the resource (``resource_id`` is accepted too)
    """
    resource_id = _resource_id(data, "id" if data.get("id") else "resource_id")
    resource = _readable(context, resource_id)
    with _errors():
        fields = datastore.table_fields(resource=resource)
        size = datastore.table_path(resource.datastore_table).stat().st_size
    described = {f.get("name"): f for f in (resource.schema or {}).get("fields", [])}
    return {
        "meta": {
            "id": str(resource.id),
            "count": resource.datastore_rows,
            "table_type": "BASE TABLE",
            "aliases": [],
            "size": size,
            "idx_size": 0,
        },
        "fields": [
            {
                "id": f["id"],
                "type": f["type"],
                "info": {
                    "label": described.get(f["id"], {}).get("title", ""),
                    "notes": described.get(f["id"], {}).get("description", ""),
                },
            }
            for f in fields
        ],
    }


@action("datastore_search_sql", side_effect_free=True)
def datastore_search_sql(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Run one read-only SQL SELECT over DataStore tables, each named by its resource id
    in double quotes: ``SELECT * FROM "<resource id>" WHERE ...``. Off unless the site
    enables it; stopped after the site's time limit.

    :param sql: a single SELECT statement
    """
    if not getattr(settings, "DATASTORE_SQL_ENABLED", False):
        raise BadRequest(
            _("Bad request - Action name not known: %(name)s") % {"name": "datastore_search_sql"}
        )
    sql = data.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise _invalid("sql", _("Missing value"))
    tables: dict[str, str] = {}
    for resource_id in datastore.referenced_ids(sql):
        try:
            resource = _readable(context, resource_id)
        except NotFound:
            continue  # unknown to this reader: the query will not find the table
        tables[str(resource.id)] = resource.datastore_table
    with _errors():
        result = datastore.sql_search(
            sql=sql,
            tables=tables,
            timeout_ms=int(getattr(settings, "DATASTORE_SQL_TIMEOUT_MS", 5000)),
        )
    body: dict[str, Any] = {"sql": sql, "fields": result.fields, "records": result.records}
    if result.truncated:
        body["records_truncated"] = True
    return body


def _require_token(context: ActionContext) -> Any:
    if context.user is None:
        raise NotAuthorized(_("send an API token in the Authorization header"))
    return context.user


def _writable(context: ActionContext, resource_id: str) -> Resource:
    try:
        return selectors.resource_by_id_for_reader(user=context.user, resource_id=resource_id)
    except selectors.DatasetNotFound:
        raise NotFound(_("Resource “%(id)s” was not found.") % {"id": resource_id}) from None


def _records(data: Mapping[str, Any]) -> Any:
    records = _json_param(data, "records")
    if records is not None and not isinstance(records, list):
        raise _invalid("records", _("Records are a list of objects."))
    return records or []


@action("datastore_create", side_effect_free=False)
def datastore_create(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Create a DataStore table, or add fields and records to one.

    :param resource_id: an existing resource, or
    :param resource: a new resource as a dict with ``package_id`` (and ``name``)
    :param fields: the fields, [{"id": "name", "type": "text|int|numeric|bool|date|timestamp"}]
    :param records: rows to insert, as a list of objects
    :param primary_key: fields that identify a row (for ``datastore_upsert``)
    """
    user = _require_token(context)
    fields = _json_param(data, "fields")
    primary_key = _json_param(data, "primary_key")
    records = _records(data)
    new = _json_param(data, "resource")
    if data.get("resource_id") in (None, "") and not isinstance(new, dict):
        raise _invalid("resource_id", _("Missing value"))
    with _errors():
        if data.get("resource_id") not in (None, ""):
            resource = _writable(context, _resource_id(data))
            resource = services.resource_datastore_upsert(
                actor=user,
                resource=resource,
                records=records,
                method="insert",
                fields=fields or None,
                primary_key=primary_key or None,
            )
        else:
            assert isinstance(new, dict)
            package_id = str(new.get("package_id") or "")
            if not package_id:
                raise _invalid("resource", _("Give the resource's package_id."))
            try:
                dataset = selectors.dataset_for_reader(user=user, name_or_id=package_id)
            except selectors.DatasetNotFound:
                raise NotFound(_("Dataset not found")) from None
            resource = services.resource_datastore_create(
                actor=user,
                dataset=dataset,
                names=new.get("name") or None,
                fields=fields,
                records=records,
                primary_key=primary_key,
            )
    schema = resource.schema or {}
    return {
        "resource_id": str(resource.id),
        "fields": datastore.table_fields(resource=resource),
        "primary_key": list(schema.get("primaryKey") or []),
        "method": "insert",
    }


@action("datastore_upsert", side_effect_free=False)
def datastore_upsert(context: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """Insert, update or upsert records of a DataStore table.

    :param resource_id: the resource
    :param records: rows, as a list of objects
    :param method: upsert (default; by the primary key), insert or update
    """
    user = _require_token(context)
    resource_id = _resource_id(data)
    method = str(data.get("method") or "upsert")
    records = _records(data)
    with _errors():
        resource = _writable(context, resource_id)
        if resource.datastore_state != Resource.DatastoreState.LOADED:
            raise NotFound(_("Resource “%(id)s” was not found.") % {"id": resource_id})
        services.resource_datastore_upsert(
            actor=user, resource=resource, records=records, method=method
        )
    return {"resource_id": str(resource.id), "method": method}
