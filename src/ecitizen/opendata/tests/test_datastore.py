"""The DataStore: files loaded through the services into their own DuckDB file, searched
with CKAN's parameters, written through the API, and queried with SQL only when enabled,
read-only, over DataStore tables, within a time limit."""

from __future__ import annotations

import io
import json

import duckdb
import openpyxl
import pytest

from ecitizen.core.errors import PermissionDenied
from ecitizen.opendata import datastore, services
from ecitizen.opendata.models import Resource

pytestmark = pytest.mark.django_db

SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "species", "type": "string"},
        {"name": "ward", "type": "string"},
        {"name": "planted", "type": "date"},
        {"name": "height_m", "type": "number"},
        {"name": "protected", "type": "boolean"},
    ],
    "primaryKey": ["id"],
}
ROWS = [
    (1, "Oak", "North", "2020-03-01", 4.5, True),
    (2, "Elm", "South", "2021-11-20", 3.0, False),
    (3, "Ash", "North", "2019-05-10", 7.25, False),
    (4, "Oak", "East", "2022-01-15", 2.0, True),
    (5, "Willow", "South", "2018-07-30", 9.0, False),
    (6, "Copper beech", "North", "", 5.5, True),
]


def _csv(rows=ROWS) -> bytes:
    lines = ["id,species,ward,planted,height_m,protected"]
    for row in rows:
        lines.append(
            ",".join("true" if v is True else "false" if v is False else str(v) for v in row)
        )
    return ("\n".join(lines) + "\n").encode()


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "species", "ward", "planted", "height_m", "protected"])
    for row in ROWS:
        values = list(row)
        if values[3]:
            import datetime as dt

            values[3] = dt.date.fromisoformat(values[3])
        else:
            values[3] = None
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _json() -> bytes:
    keys = ["id", "species", "ward", "planted", "height_m", "protected"]
    return json.dumps(
        [{k: (v if v != "" else None) for k, v in zip(keys, row, strict=True)} for row in ROWS]
    ).encode()


def _parquet(tmp_path) -> bytes:
    path = tmp_path / "trees.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "CREATE TABLE t (id BIGINT, species VARCHAR, ward VARCHAR, planted DATE, "
            "height_m DOUBLE, protected BOOLEAN)"
        )
        connection.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
            [[*row[:3], row[3] or None, *row[4:]] for row in ROWS],
        )
        connection.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    return path.read_bytes()


@pytest.fixture(autouse=True)
def _datastore_dir(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"


@pytest.fixture
def dataset(publisher, department):
    return services.dataset_create(
        actor=publisher,
        department=department,
        fields={
            "name": "street-trees",
            "titles": {"en": "Street trees"},
            "licence_id": "OGL-UK-3.0",
        },
    )


def _add(publisher, dataset, content, capture, *, filename="trees.csv", schema=SCHEMA):
    with capture(execute=True):
        resource = services.resource_add(
            actor=publisher, dataset=dataset, filename=filename, content=content, schema=schema
        )
    resource.refresh_from_db()
    return resource


@pytest.fixture
def trees(publisher, dataset, django_capture_on_commit_callbacks):
    resource = _add(publisher, dataset, _csv(), django_capture_on_commit_callbacks)
    assert resource.datastore_state == Resource.DatastoreState.LOADED, resource.datastore_error
    return resource


# --- loading ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx", "json", "parquet"])
def test_each_tabular_format_loads_with_the_schema_types(
    kind, publisher, dataset, django_capture_on_commit_callbacks, tmp_path
):
    content = {"csv": _csv, "xlsx": _xlsx, "json": _json, "parquet": lambda: _parquet(tmp_path)}
    resource = _add(
        publisher,
        dataset,
        content[kind](),
        django_capture_on_commit_callbacks,
        filename=f"trees.{kind}",
    )

    assert resource.datastore_state == Resource.DatastoreState.LOADED, (
        resource.datastore_error or resource.validation
    )
    assert resource.datastore_rows == 6
    assert resource.datastore_progress == 6
    assert datastore.table_fields(resource=resource) == [
        {"id": "id", "type": "int"},
        {"id": "species", "type": "text"},
        {"id": "ward", "type": "text"},
        {"id": "planted", "type": "date"},
        {"id": "height_m", "type": "numeric"},
        {"id": "protected", "type": "bool"},
    ]
    preview = datastore.table_preview(resource=resource, limit=2)
    assert preview.records == [
        {"id": 1, "species": "Oak", "ward": "North", "planted": "2020-03-01", "height_m": 4.5,
         "protected": True},
        {"id": 2, "species": "Elm", "ward": "South", "planted": "2021-11-20", "height_m": 3.0,
         "protected": False},
    ]  # fmt: skip
    last = datastore.table_search(resource=resource, filters={"id": 6}).records[0]
    assert last["planted"] is None


def test_the_table_is_its_own_file_named_by_the_resource(trees, settings):
    path = datastore.table_path(trees.datastore_table)

    assert path.is_file()
    assert path.parent == settings.DATASTORE_DIR / str(trees.id)
    assert not list(path.parent.glob(".tmp-*"))


def test_a_replaced_file_is_loaded_as_a_new_version_while_the_old_one_stays_readable(
    trees, publisher, django_capture_on_commit_callbacks
):
    old = trees.datastore_table
    with django_capture_on_commit_callbacks(execute=True):
        services.resource_replace(
            actor=publisher, resource=trees, filename="trees.csv", content=_csv(ROWS[:2])
        )
    trees.refresh_from_db()

    assert trees.datastore_table != old
    assert trees.datastore_rows == 2
    assert datastore.table_path(old).exists()  # readers of the old name finish their query


def test_a_file_that_does_not_match_its_schema_is_not_loaded(
    publisher, dataset, django_capture_on_commit_callbacks
):
    resource = _add(
        publisher, dataset, _csv() + b"7,Yew,North,not-a-date,1,true\n",
        django_capture_on_commit_callbacks,
    )  # fmt: skip

    assert resource.datastore_state == Resource.DatastoreState.FAILED
    assert resource.datastore_table == ""
    with pytest.raises(datastore.TableMissing):
        datastore.table_search(resource=resource)


# --- searching --------------------------------------------------------------------------


def test_search_returns_every_row_in_file_order_with_id_and_total(trees):
    result = datastore.table_search(resource=trees)

    assert result.total == 6
    assert result.fields[0] == {"id": "_id", "type": "int"}
    assert [r["_id"] for r in result.records] == [1, 2, 3, 4, 5, 6]
    assert [r["id"] for r in result.records] == [1, 2, 3, 4, 5, 6]


def test_filters_take_a_value_or_a_list_of_values(trees):
    north = datastore.table_search(resource=trees, filters={"ward": "North"})
    oak_or_elm = datastore.table_search(resource=trees, filters={"species": ["Oak", "Elm"]})
    typed = datastore.table_search(resource=trees, filters='{"id": "3", "protected": false}')

    assert [r["id"] for r in north.records] == [1, 3, 6]
    assert north.total == 3
    assert [r["id"] for r in oak_or_elm.records] == [1, 2, 4]
    assert [r["species"] for r in typed.records] == ["Ash"]


def test_q_searches_all_fields_or_one_field(trees):
    every_word = datastore.table_search(resource=trees, q="oak NORTH")
    in_species = datastore.table_search(resource=trees, q={"species": "beech"})
    in_ward = datastore.table_search(resource=trees, q='{"ward": "south"}')

    assert [r["id"] for r in every_word.records] == [1]
    assert [r["id"] for r in in_species.records] == [6]
    assert [r["id"] for r in in_ward.records] == [2, 5]


def test_sort_fields_and_paging(trees):
    page = datastore.table_search(
        resource=trees, sort="height_m desc, id", fields="id,height_m", limit=2, offset=1
    )
    by_id_desc = datastore.table_search(resource=trees, sort='"_id" desc', limit=1)

    assert page.fields == [{"id": "id", "type": "int"}, {"id": "height_m", "type": "numeric"}]
    assert page.rows == [[3, 7.25], [6, 5.5]]
    assert page.total == 6
    assert by_id_desc.records[0]["id"] == 6


def test_distinct_and_no_total(trees):
    result = datastore.table_search(
        resource=trees, fields=["ward"], distinct=True, sort="ward", include_total=False
    )

    assert result.rows == [["East"], ["North"], ["South"]]
    assert result.total is None


def test_limit_is_capped_at_ckans_maximum(trees):
    result = datastore.table_search(resource=trees, limit=100_000)

    assert result.limit == datastore.MAX_LIMIT


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filters": {"colour": "red"}}, "filters"),
        ({"filters": {"id": "seven"}}, "filters"),
        ({"filters": "{not json"}, "filters"),
        ({"filters": {"id": {"lt": 3}}}, "filters"),
        ({"sort": "colour desc"}, "sort"),
        ({"sort": "id; DROP TABLE data"}, "sort"),
        ({"fields": "id,colour"}, "fields"),
        ({"q": {"colour": "red"}}, "q"),
        ({"limit": -1}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-5"}, "offset"),
    ],
)
def test_bad_parameters_are_refused_with_the_field_named(trees, params, field):
    with pytest.raises(datastore.QueryInvalid) as caught:
        datastore.table_search(resource=trees, **params)

    assert caught.value.field == field


def test_a_quote_in_a_value_is_data_not_sql(trees):
    result = datastore.table_search(resource=trees, filters={"species": "x' OR '1'='1"}, q="'")

    assert result.total == 0


# --- exports ----------------------------------------------------------------------------


def test_exports_in_csv_json_and_parquet(trees, tmp_path):
    body, content_type = datastore.table_export(resource=trees, fmt="csv")
    text = b"".join(body).decode()
    assert content_type.startswith("text/csv")
    assert text.splitlines()[0] == "id,species,ward,planted,height_m,protected"
    assert text.splitlines()[1] == "1,Oak,North,2020-03-01,4.5,true"

    body, content_type = datastore.table_export(resource=trees, fmt="json")
    assert json.loads(b"".join(body))[4]["species"] == "Willow"

    body, content_type = datastore.table_export(resource=trees, fmt="parquet")
    path = tmp_path / "out.parquet"
    path.write_bytes(b"".join(body))
    with duckdb.connect() as connection:
        assert connection.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(path)]
        ).fetchone() == (6,)

    with pytest.raises(datastore.QueryInvalid):
        datastore.table_export(resource=trees, fmt="xml")


# --- writes (datastore_create, datastore_upsert) ----------------------------------------


def test_a_publisher_creates_a_datastore_table_and_upserts_into_it(publisher, dataset):
    resource = services.resource_datastore_create(
        actor=publisher,
        dataset=dataset,
        names={"en": "Car parks"},
        fields=[{"id": "code", "type": "text"}, {"id": "spaces", "type": "int"}],
        records=[{"code": "CP1", "spaces": 120}, {"code": "CP2", "spaces": "80"}],
        primary_key=["code"],
    )
    assert resource.datastore_state == Resource.DatastoreState.LOADED
    assert resource.datastore_rows == 2
    assert resource.schema["primaryKey"] == ["code"]
    revisions = dataset.revisions.count()

    resource = services.resource_datastore_upsert(
        actor=publisher,
        resource=resource,
        records=[{"code": "CP2", "spaces": 85}, {"code": "CP3", "spaces": 40}],
        method="upsert",
    )

    result = datastore.table_search(resource=resource)
    assert result.rows == [[1, "CP1", 120], [2, "CP2", 85], [3, "CP3", 40]]
    assert resource.datastore_rows == 3
    assert dataset.revisions.count() == revisions + 1


def test_writes_that_do_not_fit_change_nothing(publisher, dataset):
    resource = services.resource_datastore_create(
        actor=publisher,
        dataset=dataset,
        names={"en": "Car parks"},
        fields=[{"id": "code", "type": "text"}, {"id": "spaces", "type": "int"}],
        records=[{"code": "CP1", "spaces": 120}],
        primary_key=["code"],
    )
    table = resource.datastore_table
    bad = [
        ([{"code": "CP9", "spaces": 1}], "update"),
        ([{"code": "CP1", "spaces": 1}], "insert"),
        ([{"code": "CP2", "spaces": "many"}], "upsert"),
        ([{"code": "CP2", "colour": "red"}], "upsert"),
        ([{"code": "CP2"}, {"code": "CP2"}], "upsert"),
    ]
    for records, method in bad:
        with pytest.raises(datastore.QueryInvalid):
            services.resource_datastore_upsert(
                actor=publisher, resource=resource, records=records, method=method
            )
    resource.refresh_from_db()
    assert resource.datastore_table == table
    assert datastore.table_search(resource=resource).rows == [[1, "CP1", 120]]


def test_only_a_publisher_of_the_department_writes(other_publisher, publisher, dataset):
    resource = services.resource_datastore_create(
        actor=publisher,
        dataset=dataset,
        names={"en": "Car parks"},
        fields=[{"id": "code", "type": "text"}],
        records=[],
        primary_key=[],
    )
    with pytest.raises(PermissionDenied):
        services.resource_datastore_upsert(
            actor=other_publisher, resource=resource, records=[{"code": "X"}], method="insert"
        )
    with pytest.raises(PermissionDenied):
        services.resource_datastore_create(
            actor=other_publisher, dataset=dataset, names={"en": "x"},
            fields=[{"id": "a", "type": "text"}], records=[], primary_key=[],
        )  # fmt: skip


# --- SQL --------------------------------------------------------------------------------


def _sql(trees, sql, timeout_ms=5000):
    return datastore.sql_search(
        sql=sql, tables={str(trees.id): trees.datastore_table}, timeout_ms=timeout_ms
    )


def test_sql_over_a_datastore_table(trees):
    result = _sql(
        trees,
        f'SELECT ward, count(*) AS n FROM "{trees.id}" GROUP BY ward ORDER BY ward',  # noqa: S608
    )

    assert result.records == [
        {"ward": "East", "n": 1},
        {"ward": "North", "n": 3},
        {"ward": "South", "n": 2},
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/*')",
        "SELECT * FROM opendata_dataset",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "SET enable_external_access = true",
        'DROP VIEW "{id}"',
        'INSERT INTO "{id}" VALUES (1)',
        'SELECT 1; SELECT * FROM "{id}"',
        "ATTACH '/tmp/other.duckdb' AS other",
        "INSTALL httpfs",
    ],
)
def test_sql_is_one_read_only_select_over_datastore_tables_only(trees, sql):
    with pytest.raises(datastore.QueryInvalid) as caught:
        _sql(trees, sql.replace("{id}", str(trees.id)))

    assert caught.value.field == "query"


def test_sql_is_stopped_after_the_time_limit(trees):
    with pytest.raises(datastore.QueryInvalid) as caught:
        _sql(
            trees,
            "SELECT count(*) FROM range(100000000000) a, range(1000) b WHERE a.range % 7 = b.range",
            timeout_ms=100,
        )

    assert "longer than" in str(caught.value)


# --- word search, _id order, physical order (layout 2) ----------------------------------


@pytest.fixture(params=["index", "lookup", "lookup-semijoin", "mixed"])
def q_trees(request, publisher, dataset, django_capture_on_commit_callbacks, monkeypatch):
    """The trees loaded with every column's words in the word index, or every column (or
    the few-valued ones: ward and protected) matched through its values in ``lookup``."""
    if request.param != "index":
        monkeypatch.setattr(datastore, "LOOKUP_SHARE", 1)
        monkeypatch.setattr(datastore, "LOOKUP_MAX_DISTINCT", 3 if request.param == "mixed" else 10)
    if request.param == "lookup-semijoin":
        monkeypatch.setattr(datastore, "LOOKUP_CONSTANTS", 0)
    resource = _add(publisher, dataset, _csv(), django_capture_on_commit_callbacks)
    assert resource.datastore_state == Resource.DatastoreState.LOADED, resource.datastore_error
    _cursor, _alias, meta = datastore._readers.cursor(resource.datastore_table)
    assert meta["lookup"] == {
        "index": [],
        "mixed": ["ward", "protected"],
    }.get(request.param, ["id", "species", "ward", "planted", "height_m", "protected"])
    return resource


def test_q_matches_whole_words_every_word_required(q_trees):
    trees = q_trees

    def ids(q):
        return [r["id"] for r in datastore.table_search(resource=trees, q=q).records]

    assert ids("beech") == [6]
    assert ids("eech") == []  # a word, not a substring (CKAN's full text is by word)
    assert ids("copper beech") == [6]
    assert ids("COPPER, Beech!") == [6]  # case and punctuation are not part of words
    assert ids("oak south") == []  # every word must match, in any column
    assert ids("north oak") == [1]
    assert ids("2020") == [1]  # a date's words: 2020, 03, 01
    assert ids("...") == []
    assert datastore.table_search(resource=trees, q="north").total == 3
    assert datastore.table_search(resource=trees, q={"species": "copper"}).total == 1
    assert datastore.table_search(resource=trees, q={"ward": "copper"}).total == 0
    assert ids("true") == [1, 4, 6]
    assert ids("5") == [1, 5, 6]  # 4.5, id 5, 5.5 (twice): a row once, however often
    assert datastore.table_search(resource=trees, q="5").total == 3
    assert ids("north 5 true") == [1, 6]
    assert ids("north 5 true 01") == [1]
    page = datastore.table_search(resource=trees, q="north", sort="height_m desc", limit=1)
    assert ([r["id"] for r in page.records], page.total) == ([3], 3)


def test_q_follows_writes_to_a_loaded_table(q_trees, publisher):
    resource = services.resource_datastore_upsert(
        actor=publisher,
        resource=q_trees,
        records=[
            {"id": 2, "species": "Hornbeam", "ward": "West"},
            {"id": 7, "species": "Rowan", "ward": "West", "height_m": 1.5},
        ],
        method="upsert",
    )

    def ids(q):
        return [r["id"] for r in datastore.table_search(resource=resource, q=q).records]

    assert ids("west") == [2, 7]
    assert ids("elm") == []  # the updated row's old value no longer holds it
    assert ids("rowan 1") == [7]
    assert ids("south") == [5]


def test_q_words_are_unicode_and_follow_writes(publisher, dataset):
    resource = services.resource_datastore_create(
        actor=publisher,
        dataset=dataset,
        names={"en": "Places"},
        fields=[{"id": "code", "type": "text"}, {"id": "name", "type": "text"}],
        records=[
            {"code": "P1", "name": "Café Münster"},
            {"code": "P2", "name": "Saint-Denis"},
            {"code": "P3", "name": "محطة القطار"},
        ],
        primary_key=["code"],
    )

    def ids(q):
        return [r["code"] for r in datastore.table_search(resource=resource, q=q).records]

    assert ids("MÜNSTER café") == ["P1"]
    assert ids("denis") == ["P2"]
    assert ids("القطار") == ["P3"]

    resource = services.resource_datastore_upsert(
        actor=publisher,
        resource=resource,
        records=[{"code": "P2", "name": "Gare du Nord"}, {"code": "P4", "name": "Nord Park"}],
        method="upsert",
    )

    assert ids("denis") == []  # the updated row's old words are gone
    assert ids("nord") == ["P2", "P4"]
    assert [r["_id"] for r in datastore.table_search(resource=resource).records] == [1, 2, 3, 4]


def test_a_large_table_is_ordered_by_its_few_valued_columns_and_keeps_file_order_ids(
    trees, publisher, dataset, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(datastore, "ROW_GROUP", 1)  # "large" from two rows
    resource = _add(publisher, dataset, _csv(), django_capture_on_commit_callbacks)
    _cursor, _alias, meta = datastore._readers.cursor(resource.datastore_table)
    with duckdb.connect(str(datastore.table_path(resource.datastore_table)), read_only=True) as c:
        physical = [row[0] for row in c.execute("SELECT _id FROM data").fetchall()]

    assert meta["cluster"] == ["ward", "species"]  # 3 wards, then 5 species
    assert physical == [4, 3, 6, 1, 2, 5]  # East; North: Ash, Copper beech, Oak; South
    everything = datastore.table_search(resource=resource)
    assert [r["_id"] for r in everything.records] == [1, 2, 3, 4, 5, 6]
    assert [r["id"] for r in everything.records] == [1, 2, 3, 4, 5, 6]
    north = datastore.table_search(resource=resource, filters={"ward": "North"})
    assert [(r["_id"], r["id"]) for r in north.records] == [(1, 1), (3, 3), (6, 6)]
    page = datastore.table_search(resource=resource, limit=2, offset=3, include_total=False)
    assert [r["_id"] for r in page.records] == [4, 5]
    protected = datastore.table_search(resource=resource, sort="protected desc", fields="_id")
    assert protected.rows == [[1], [4], [6], [2], [3], [5]]  # ties in _id order
    assert [r["id"] for r in datastore.table_preview(resource=resource, limit=3).records] == [
        1,
        2,
        3,
    ]
    body, _type = datastore.table_export(resource=resource, fmt="csv")
    assert [line[:2] for line in b"".join(body).decode().splitlines()[1:]] == [
        "1,",
        "2,",
        "3,",
        "4,",
        "5,",
        "6,",
    ]


def test_sql_sees_ids_and_cannot_reach_the_catalogue(trees):
    ids = _sql(trees, f'WITH t AS (SELECT * FROM "{trees.id}") SELECT _id, id FROM t ORDER BY 1')  # noqa: S608
    assert ids.rows[:2] == [[1, 1], [2, 2]]

    for sql in [
        "SELECT * FROM duckdb_databases()",
        "SELECT path FROM pragma_database_list",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM s0.data",
        "SELECT current_setting('temp_directory')",
        f"SELECT * FROM \"{trees.id}\", query('SELECT 1')",  # noqa: S608
    ]:
        with pytest.raises(datastore.QueryInvalid) as caught:
            _sql(trees, sql)
        assert caught.value.field == "query"
