"""Queries compiled once per process (core.compiled) return what the ORM returns; a
compiled insert or update writes what save() writes."""

import re
import uuid
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import UpdateQuery
from django.db.transaction import TransactionManagementError
from django.test import override_settings
from django.utils import timezone
from django.utils.connection import ConnectionDoesNotExist

from ecitizen.accounts.auth_backends import AuthenticationBackend
from ecitizen.accounts.models import ResidentProfile, RoleAssignment, User
from ecitizen.core.compiled import (
    PREPARE_THRESHOLD,
    CompiledInsert,
    CompiledQuery,
    CompiledUpdate,
)
from ecitizen.core.models import AuditEvent
from ecitizen.core.tests.test_settings import _run
from ecitizen.opendata.models import Dataset

# SQLite's forms differ (an EXISTS as 0 or 1, a UUID as hex digits): run on both.
pytestmark = [pytest.mark.django_db, pytest.mark.db_specific]

USER_ID = User._meta.get_field("id")
SAMPLE = -7_031_962_441


def _with_flag(pk):
    flag = Exists(RoleAssignment.objects.filter(user=OuterRef("pk")))
    return User.objects.annotate(holds_any_role=flag).filter(pk=pk)


def test_objects_are_the_orms_with_their_annotations_converted(resident, case_officer):
    compiled = CompiledQuery(User, _with_flag, pk=(SAMPLE, USER_ID))
    for person in (resident, case_officer):
        [fetched] = compiled.objects(pk=person.pk)
        expected = _with_flag(person.pk).get()
        assert fetched == expected
        # An encrypted field decrypts; an EXISTS is a bool on SQLite too (its 0 or 1 is
        # converted as the ORM converts it).
        assert fetched.full_name == expected.full_name != ""
        assert fetched.holds_any_role is expected.holds_any_role
    assert compiled.objects(pk=resident.pk)[0].holds_any_role is False
    assert compiled.objects(pk=case_officer.pk)[0].holds_any_role is True
    assert compiled.objects(pk=10**9) == []
    # A value in the form a request gives it is prepared as the field prepares it.
    assert compiled.objects(pk=str(resident.pk))[0].pk == resident.pk


def test_related_objects_come_in_the_same_row(resident, case_officer, django_assert_num_queries):
    """select_related: the joined objects are built as the ORM builds them, and a null
    foreign key (a role without a ward) gives None."""
    compiled = CompiledQuery(
        RoleAssignment,
        lambda user: RoleAssignment.objects.select_related("department", "jurisdiction").filter(
            user=user
        ),
        user=(SAMPLE, RoleAssignment._meta.get_field("user")),
    )
    expected = list(
        RoleAssignment.objects.select_related("department", "jurisdiction").filter(
            user=case_officer
        )
    )
    assert expected
    with django_assert_num_queries(1):
        found = compiled.objects(user=case_officer.pk)
        assert found == expected
        assert [a.department for a in found] == [a.department for a in expected]
        assert [a.department.name for a in found] == [a.department.name for a in expected]
        assert [a.jurisdiction for a in found] == [a.jurisdiction for a in expected]
        assert [a.granted_at for a in found] == [a.granted_at for a in expected]
    assert compiled.objects(user=resident.pk) == []


def test_shared_objects_are_made_again_only_when_the_rows_change(
    case_officer, django_assert_num_queries
):
    """objects_shared: the query runs on every call; the instances (with their related
    objects) are the last call's while the rows read are the same, made again from the
    new rows as soon as any column of any row, joined ones included, differs."""
    compiled = CompiledQuery(
        RoleAssignment,
        lambda user: RoleAssignment.objects.select_related("department").filter(user=user),
        user=(SAMPLE, RoleAssignment._meta.get_field("user")),
    )
    with django_assert_num_queries(2):
        first = compiled.objects_shared(user=case_officer.pk)
        again = compiled.objects_shared(user=case_officer.pk)
    assert first == list(RoleAssignment.objects.filter(user=case_officer)) != []
    assert again is not first  # the caller's own list...
    assert [id(a) for a in again] == [id(a) for a in first]  # ...of the same instances
    name = first[0].department.name
    type(first[0].department).objects.filter(pk=first[0].department_id).update(name="Renamed")
    renamed = compiled.objects_shared(user=case_officer.pk)
    assert renamed[0] is not first[0]
    assert (renamed[0].department.name, first[0].department.name) == ("Renamed", name)
    with override_settings(LANGUAGE_CODE="fr"):  # settings may convert rows otherwise
        assert compiled.objects_shared(user=case_officer.pk)[0] is not renamed[0]
    RoleAssignment.objects.filter(user=case_officer).delete()
    assert compiled.objects_shared(user=case_officer.pk) == []
    assert compiled.objects_shared(user=10**9) == []


def test_a_values_query_gives_values_not_objects(resident):
    compiled = CompiledQuery(
        User, lambda pk: User.objects.filter(pk=pk).values_list("email"), pk=(SAMPLE, USER_ID)
    )
    with pytest.raises(TypeError, match="returns values, not objects"):
        compiled.objects(pk=resident.pk)
    # value() reads one column of a values query: not an object's, nor one of several.
    objects = CompiledQuery(User, lambda pk: User.objects.filter(pk=pk), pk=(SAMPLE, USER_ID))
    two = CompiledQuery(
        User,
        lambda pk: User.objects.filter(pk=pk).values_list("email", "language"),
        pk=(SAMPLE, USER_ID),
    )
    for compiled_query in (objects, two):
        with pytest.raises(TypeError, match="does not select one value"):
            compiled_query.value(pk=resident.pk)


def test_rows_of_a_values_query_are_converted_as_the_orms(resident, case_officer):
    """rows(): every row of a values query, each column converted (a name decrypts, an
    EXISTS is a bool); not for a query of objects."""

    def build(pk):
        flag = Exists(RoleAssignment.objects.filter(user=OuterRef("pk")))
        return (
            User.objects.annotate(holds_any_role=flag)
            .filter(pk__gte=pk)
            .order_by("pk")
            .values_list("pk", "full_name", "holds_any_role")
        )

    compiled = CompiledQuery(User, build, pk=(SAMPLE, USER_ID))
    lowest = min(resident.pk, case_officer.pk)
    assert [tuple(row) for row in compiled.rows(pk=lowest)] == list(build(lowest))
    assert {row[2] for row in compiled.rows(pk=lowest)} == {True, False}
    assert compiled.rows(pk=10**9) == []
    objects = CompiledQuery(User, lambda pk: User.objects.filter(pk=pk), pk=(SAMPLE, USER_ID))
    with pytest.raises(TypeError, match="returns objects, not values"):
        objects.rows(pk=resident.pk)


def test_its_sql_runs_inside_other_sql(resident, case_officer):
    """sql_with_params(): the compiled SQL with the values in the samples' places, as
    the queryset's own ``query.sql_with_params()`` would give it."""
    from django.db import connection

    def emails_from(pk):
        return User.objects.filter(pk__gte=pk).values("email")

    compiled = CompiledQuery(User, emails_from, pk=(SAMPLE, USER_ID))
    lowest = min(resident.pk, case_officer.pk)
    inner, params = compiled.sql_with_params(pk=lowest)
    assert (inner, list(params)) == (
        emails_from(lowest).query.sql_with_params()[0],
        list(emails_from(lowest).query.sql_with_params()[1]),
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({inner}) inner_emails", params)  # noqa: S608
        assert cursor.fetchone()[0] == emails_from(lowest).count() >= 2


def test_what_the_orm_would_do_differently_is_refused(resident):
    """None (the ORM's IS NULL), a lookup that escapes or wraps its text (LIKE), and a
    queryset whose database or prefetching the compiled query would not follow."""
    compiled = CompiledQuery(User, lambda pk: User.objects.filter(pk=pk), pk=(SAMPLE, USER_ID))
    with pytest.raises(ValueError, match="given None"):
        compiled.objects(pk=None)
    email = User._meta.get_field("email")
    # (iexact too where it is a LIKE, on SQLite; PostgreSQL compares UPPER()s, unescaped.)
    for lookup in ("contains", "startswith"):
        like = CompiledQuery(
            User,
            lambda text, lookup=lookup: User.objects.filter(**{f"email__{lookup}": text}),
            text=("someone@example.test", email),
        )
        with pytest.raises(ImproperlyConfigured, match="'text' appears 0 times"):
            like.objects(text=resident.email)
    exact = CompiledQuery(
        User, lambda text: User.objects.filter(email=text), text=("someone@example.test", email)
    )
    assert exact.objects(text=resident.email) == [resident]
    for build, what in (
        (lambda pk: User.objects.using("default").filter(pk=pk), "using()"),
        (lambda pk: User.objects.prefetch_related("role_assignments").filter(pk=pk), "prefetch"),
        (lambda pk: RoleAssignment.objects.filter(user=pk), "a queryset of RoleAssignment"),
    ):
        refused = CompiledQuery(User, build, pk=(SAMPLE, USER_ID))
        with pytest.raises(ImproperlyConfigured, match=re.escape(what)):
            refused.objects(pk=resident.pk)


def test_a_value_takes_its_fields_database_form(department):
    dataset = Dataset.objects.create(name="compiled", department=department, licence_id="x")
    compiled = CompiledQuery(
        Dataset,
        lambda pk: Dataset.objects.filter(pk=pk).values_list("name"),
        pk=(uuid.UUID(int=7), Dataset._meta.pk),
    )
    # SQLite keeps a UUID as 32 hex digits, PostgreSQL as a uuid: found either way, given
    # as a UUID or as its text.
    assert compiled.value(pk=dataset.pk) == "compiled"
    assert compiled.value(pk=str(dataset.pk)) == "compiled"
    assert compiled.value(pk=uuid.uuid4()) is None


def test_a_scalar_is_the_first_column_of_the_first_row(resident, second_resident):
    other = second_resident
    compiled = CompiledQuery(
        User,
        lambda pk: User.objects.filter(pk=pk).values_list("email"),
        pk=(SAMPLE, USER_ID),
    )
    assert compiled.value(pk=resident.pk) == resident.email
    assert compiled.value(pk=other.pk) == other.email
    assert compiled.value(pk=10**9) is None
    # A value is converted as the ORM converts it: an encrypted name is decrypted.
    names = CompiledQuery(
        User, lambda pk: User.objects.filter(pk=pk).values_list("full_name"), pk=(SAMPLE, USER_ID)
    )
    assert names.value(pk=resident.pk) == resident.full_name != ""


def test_first_is_the_first_object_or_none(resident, case_officer):
    compiled = CompiledQuery(User, _with_flag, pk=(SAMPLE, USER_ID))
    first = compiled.first(pk=case_officer.pk)
    assert first == case_officer
    assert first.holds_any_role is True
    assert compiled.first(pk=resident.pk).holds_any_role is False
    assert compiled.first(pk=10**9) is None


def test_a_sample_must_appear_exactly_once():
    twice = CompiledQuery(
        User,
        lambda pk: User.objects.filter(Q(pk=pk) | Q(pk=pk)),
        pk=(SAMPLE, USER_ID),
    )
    with pytest.raises(ImproperlyConfigured, match="'pk' appears 2 times"):
        twice.objects(pk=1)
    # A sample equal to none of the parameters (here: the query does not use it).
    unused = CompiledQuery(User, lambda pk: User.objects.all(), pk=(SAMPLE, USER_ID))
    with pytest.raises(ImproperlyConfigured, match="'pk' appears 0 times"):
        unused.objects(pk=1)


def test_every_named_value_must_be_given_and_no_other():
    compiled = CompiledQuery(User, _with_flag, pk=(SAMPLE, USER_ID))
    with pytest.raises(TypeError, match="takes \\['pk'\\]"):
        compiled.objects()
    with pytest.raises(TypeError, match="was given \\['email', 'pk'\\]"):
        compiled.objects(pk=1, email="x")


def test_compiled_once_and_again_after_a_change_of_settings(resident, monkeypatch):
    built = []

    def build(pk):
        built.append(pk)
        return _with_flag(pk)

    compiled = CompiledQuery(User, build, pk=(SAMPLE, USER_ID))
    assert compiled.objects(pk=resident.pk)[0].pk == resident.pk
    # Built once to see whether it locks rows (where it is routed), once to be compiled.
    assert len(built) == 2
    for _ in range(3):
        assert compiled.objects(pk=resident.pk)[0].pk == resident.pk
    assert len(built) == 2
    with override_settings(LANGUAGE_CODE="fr"):
        assert compiled.objects(pk=resident.pk)[0].pk == resident.pk
    assert built == [SAMPLE] * 3


def test_the_request_user_is_the_compiled_one(resident, case_officer):
    """The user of a request keeps its role flag; an inactive person is nobody's user.
    (The unread count's caller: notifications/tests/test_views.py.)"""
    backend = AuthenticationBackend()
    assert backend.get_user(resident.pk).holds_any_role is False
    assert backend.get_user(case_officer.pk).holds_any_role is True
    assert backend.get_user(10**9) is None
    User.objects.filter(pk=resident.pk).update(is_active=False)
    assert backend.get_user(resident.pk) is None


def test_a_repeated_stored_text_is_converted_once_per_query(resident, case_officer, monkeypatch):
    """Rows that repeat a joined row's value (here the same person's encrypted name on
    each of their role assignments) decrypt it once; each row still has it, and a
    value that can change in place (a JSON object) is never shared between rows."""
    from ecitizen.accounts.models import Jurisdiction
    from ecitizen.core import crypto

    ward = Jurisdiction.objects.create(
        code="shared-ward", name="Shared", kind=Jurisdiction.Kind.WARD, names={"fr": "Partagé"}
    )
    RoleAssignment.objects.filter(user=case_officer).update(jurisdiction=ward)
    for role in ("supervisor", "auditor"):
        RoleAssignment.objects.create(
            user=case_officer,
            role=role,
            department=RoleAssignment.objects.filter(user=case_officer).first().department,
            jurisdiction=ward,
        )
    compiled = CompiledQuery(
        RoleAssignment,
        lambda user: (
            RoleAssignment.objects.filter(user=user)
            .order_by("pk")
            .values_list("user__full_name", "jurisdiction__names")
        ),
        user=(SAMPLE, RoleAssignment._meta.get_field("user")),
    )
    decrypted = []
    real_decrypt = crypto.decrypt
    monkeypatch.setattr(
        crypto,
        "decrypt",
        lambda *args, **kwargs: decrypted.append(1) or real_decrypt(*args, **kwargs),
    )
    rows = compiled.rows(user=case_officer.pk)
    assert len(rows) >= 3
    assert {row[0] for row in rows} == {case_officer.full_name}
    assert len(decrypted) == 1
    names = [row[1] for row in rows]
    assert names[0] == {"fr": "Partagé"}
    assert len({id(value) for value in names}) == len(names)


class _ReadsElsewhere:
    """A router that sends reads to a database that does not exist here: what is routed
    for reading fails, what is routed for writing goes to the default one."""

    def db_for_read(self, model, **hints):
        return "elsewhere"

    def db_for_write(self, model, **hints):
        return "default"


@pytest.mark.django_db(transaction=True)  # to run a query outside any transaction
def test_a_locking_query_runs_in_a_transaction_on_the_database_written_to(resident):
    """As the ORM's select_for_update(): refused outside a transaction where the database
    locks rows, routed for writing, and the same SQL (FOR UPDATE on PostgreSQL)."""
    orm = User.objects.select_for_update().filter(pk=resident.pk)
    compiled = CompiledQuery(
        User, lambda pk: User.objects.select_for_update().filter(pk=pk), pk=(SAMPLE, USER_ID)
    )
    reading = CompiledQuery(User, lambda pk: User.objects.filter(pk=pk), pk=(SAMPLE, USER_ID))
    with override_settings(DATABASE_ROUTERS=[_ReadsElsewhere()]), transaction.atomic():
        with pytest.raises(ConnectionDoesNotExist):  # a read is routed for reading
            reading.objects(pk=resident.pk)
        assert compiled.objects(pk=resident.pk) == [resident]
        sql, params = compiled.sql_with_params(pk=resident.pk)
        orm_sql, orm_params = orm.query.sql_with_params()
        assert (sql, list(params)) == (orm_sql, list(orm_params))
        assert ("FOR UPDATE" in sql) is connection.features.has_select_for_update
    with transaction.atomic():  # compiled again for these settings
        compiled.objects(pk=resident.pk)
    # Compiled already: refused by the compiled query itself, not by the ORM compiling it.
    if connection.features.has_select_for_update:
        with pytest.raises(TransactionManagementError):
            list(orm)
        with pytest.raises(TransactionManagementError):
            compiled.objects(pk=resident.pk)
        with pytest.raises(TransactionManagementError):
            compiled.sql_with_params(pk=resident.pk)
    else:
        assert compiled.objects(pk=resident.pk) == list(orm) == [resident]


def _saved_row(model, pk):
    return model.objects.filter(pk=pk).values().get()


def _event_content(sequence, person):
    """An event whose every column holds a value of its own (a parameter out of place
    would land in a column that shows it)."""
    return {
        "sequence": sequence,
        "created_at": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
        "actor_id": person.pk,
        "actor_label": "label",
        "actor_role": "role",
        "action": "compiled.insert",
        "object_type": "type",
        "object_id": "object",
        "subject_user_id": person.pk + 1,
        "changes": {"state": {"before": "a", "after": "b"}, "count": 2},
        "ip_address": "2001:db8::1",
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
    }


@pytest.mark.parametrize("key_returned", [True, False], ids=["RETURNING", "last_insert_id"])
def test_a_compiled_insert_writes_the_row_save_writes(resident, monkeypatch, key_returned):
    """Every column as save() writes it (a JSON value, an address, a date-time), the new
    key set on the instance (returned by the INSERT, or asked for after it where the
    database cannot return it), which is then saved; the compiled form serves again."""
    if not key_returned:
        if connection.vendor == "postgresql":
            pytest.skip("PostgreSQL's driver has no last row id: its INSERT returns the key")
        monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    saved = AuditEvent(**_event_content(10_001, resident))
    saved.save()
    compiled = CompiledInsert(AuditEvent)
    for sequence in (10_002, 10_003):
        content = _event_content(sequence, resident)
        inserted = AuditEvent(**content)
        compiled.insert(inserted)
        assert inserted.pk not in (None, saved.pk)
        assert (inserted._state.adding, inserted._state.db) == (False, "default")
        row = _saved_row(AuditEvent, inserted.pk)
        assert row == {**_saved_row(AuditEvent, saved.pk), "id": inserted.pk, "sequence": sequence}
        assert row == {**content, "id": inserted.pk}
        with pytest.raises(ValueError, match="already saved"):
            compiled.insert(inserted)


def test_a_compiled_insert_refuses_what_it_would_not_write_as_save_does(resident):
    with pytest.raises(ImproperlyConfigured, match="foreign keys"):
        CompiledInsert(RoleAssignment)
    with pytest.raises(TypeError, match="expression"):
        CompiledInsert(AuditEvent).insert(
            AuditEvent(sequence=F("sequence"), created_at=timezone.now(), prev_hash="", hash="")
        )
    with pytest.raises(ValueError, match="has a key"):
        CompiledInsert(AuditEvent).insert(AuditEvent(pk=10**9, **_event_content(10_004, resident)))


def test_a_compiled_update_writes_what_save_with_update_fields_writes(resident):
    """The fields named (encrypted text, a NULL, the auto_now date-time, set on the
    instance as save() sets it), no other column; no row any more: DatabaseError."""
    profile, _ = ResidentProfile.objects.get_or_create(
        user=resident, defaults={"legal_name": "Ada One"}
    )
    profile.town, profile.phone, profile.preferred_name = "Riverton", "01632 960000", "Ada"
    profile.save()
    stamped = profile.updated_at
    compiled = CompiledUpdate(ResidentProfile, ["legal_name", "town", "phone", "updated_at"])
    profile.legal_name, profile.town, profile.phone = "Ada Two", "Northgate", None
    profile.preferred_name = "not written"
    compiled.update(profile)
    assert profile.updated_at > stamped
    fresh = ResidentProfile.objects.get(pk=profile.pk)
    written = (fresh.legal_name, fresh.town, fresh.phone, fresh.updated_at)
    assert written == ("Ada Two", "Northgate", None, profile.updated_at)
    assert fresh.preferred_name == "Ada"
    compiled.update(profile)  # nothing but the date-time changes: still its one row
    ResidentProfile.objects.filter(pk=profile.pk).delete()
    with transaction.atomic():
        with pytest.raises(DatabaseError, match="did not affect any rows"):
            compiled.update(profile)
        # As save(): the block is marked for rollback, so that a caller who caught the
        # error cannot commit the rest of its work without this row.
        assert transaction.get_rollback()


def test_a_compiled_update_is_the_statement_django_writes(resident):
    fields = ["legal_name", "town", "updated_at"]
    compiled = CompiledUpdate(ResidentProfile, fields)
    query = ResidentProfile.objects.filter(pk=10**9).query.chain(UpdateQuery)
    meta = ResidentProfile._meta
    values = {"legal_name": "text", "town": "text", "updated_at": timezone.now()}
    query.add_update_fields([(meta.get_field(name), None, values[name]) for name in fields])
    django_sql, _params = query.get_compiler("default").as_sql()
    assert compiled._written("default", guarded=False) == django_sql


def test_a_guarded_compiled_update_writes_only_a_row_unchanged_since_it_was_read(resident):
    from django.db.models.signals import post_save

    profile, _ = ResidentProfile.objects.get_or_create(
        user=resident, defaults={"legal_name": "Ada One"}
    )
    compiled = CompiledUpdate(ResidentProfile, ["town", "updated_at"], guards=["updated_at"])
    saved: list[str] = []

    def count(sender, instance, **kwargs):
        saved.append(instance.town)

    post_save.connect(count, sender=ResidentProfile)
    try:
        read_at = profile.updated_at
        profile.town = "Northgate"
        assert compiled.update_unless_changed(profile, expected={"updated_at": read_at})
        assert ResidentProfile.objects.get(pk=profile.pk).town == "Northgate"
        assert saved == ["Northgate"]
        # Another writer changes the row after this copy was read: nothing is written.
        stale, read_at = ResidentProfile.objects.get(pk=profile.pk), profile.updated_at
        profile.town = "Eastfield"
        profile.save()
        stale.town = "Westbury"
        with transaction.atomic():
            assert not compiled.update_unless_changed(stale, expected={"updated_at": read_at})
            assert not transaction.get_rollback()  # an answer, not an error of the database
        assert ResidentProfile.objects.get(pk=profile.pk).town == "Eastfield"
        assert saved == ["Northgate", "Eastfield"]  # no post_save for the write not done
    finally:
        post_save.disconnect(count, sender=ResidentProfile)
    with pytest.raises(ValueError, match="exactly"):
        compiled.update_unless_changed(profile, expected={"town": "Eastfield"})
    with pytest.raises(ValueError, match="None"):
        compiled.update_unless_changed(profile, expected={"updated_at": None})
    with pytest.raises(ImproperlyConfigured, match="the primary key"):
        CompiledUpdate(ResidentProfile, ["town"], guards=["id"])
    with pytest.raises(ImproperlyConfigured, match="a foreign key"):
        CompiledUpdate(ResidentProfile, ["town"], guards=["ward"])


def test_a_compiled_update_finds_a_row_by_a_uuid_key(department):
    """SQLite keeps a UUID key as hex digits, PostgreSQL as a uuid."""
    dataset = Dataset.objects.create(name="compiled-update", department=department, licence_id="x")
    dataset.titles, dataset.contact_name = {"en": "Potholes"}, "Streets team"
    CompiledUpdate(Dataset, ["titles", "contact_name"]).update(dataset)
    fresh = Dataset.objects.get(pk=dataset.pk)
    assert (fresh.titles, fresh.contact_name) == ({"en": "Potholes"}, "Streets team")


def test_a_compiled_update_refuses_what_save_would_write_otherwise(resident):
    for fields, what in (
        (["id", "town"], "the primary key"),
        (["town", "town"], "a field named twice"),
        (["ward"], "a foreign key"),
        ([], "no field"),
    ):
        with pytest.raises(ImproperlyConfigured, match=what):
            CompiledUpdate(ResidentProfile, fields)
    compiled = CompiledUpdate(ResidentProfile, ["town"])
    with pytest.raises(ValueError, match="not saved yet"):
        compiled.update(ResidentProfile(user=resident, legal_name="x"))
    with pytest.raises(ValueError, match="not a ResidentProfile"):
        compiled.update(resident)
    profile, _ = ResidentProfile.objects.get_or_create(user=resident, defaults={"legal_name": "x"})
    profile.town = F("postcode")
    with pytest.raises(TypeError, match="expression"):
        compiled.update(profile)


def test_compiled_writes_send_the_signals_save_sends(resident):
    """pre_save and post_save, as save() sends them (created, update_fields): what a
    receiver (the fault tests' hold on an audit event's commit) is told."""
    heard = []

    def receiver(signal, sender, instance, **kwargs):
        heard.append((signal, sender, kwargs.get("created"), kwargs["update_fields"]))

    for signal in (pre_save, post_save):
        signal.connect(receiver, weak=False)
    try:
        event = AuditEvent(**_event_content(10_005, resident))
        CompiledInsert(AuditEvent).insert(event)
        profile, _ = ResidentProfile.objects.get_or_create(
            user=resident, defaults={"legal_name": "x"}
        )
        CompiledUpdate(ResidentProfile, ["town"]).update(profile)
    finally:
        for signal in (pre_save, post_save):
            signal.disconnect(receiver)
    assert heard[:2] == [(pre_save, AuditEvent, None, None), (post_save, AuditEvent, True, None)]
    assert heard[-2:] == [
        (pre_save, ResidentProfile, None, frozenset({"town"})),
        (post_save, ResidentProfile, False, frozenset({"town"})),
    ]


def _prepared_statements() -> set[str]:
    """The statements prepared on this test's PostgreSQL connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {statement for (statement,) in cursor.fetchall()}


@pytest.fixture
def prepared_statements_on(settings):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    settings.DATABASE_PREPARED_STATEMENTS = True


def test_on_postgresql_a_compiled_read_often_run_is_prepared_and_the_orms_are_not(
    prepared_statements_on, resident, case_officer, django_assert_num_queries
):
    """A compiled statement binds its values on the server, and psycopg prepares it once
    it has run PREPARE_THRESHOLD times on the connection: PostgreSQL then plans it once
    per connection. The ORM's own queries keep client-side binding and are never
    prepared. The results are the same before and after the statement is prepared, and
    each run is still one query that the query log counts and shows with its values."""
    compiled = CompiledQuery(User, _with_flag, pk=(SAMPLE, USER_ID))
    runs = PREPARE_THRESHOLD + 1
    with django_assert_num_queries(runs + 1) as captured:
        found = [compiled.first(pk=resident.pk) for _time in range(runs)]
        other = compiled.first(pk=case_officer.pk)
    assert found == [resident] * runs
    assert [person.holds_any_role for person in found] == [False] * runs
    assert (other, other.holds_any_role) == (case_officer, True)
    logged = [query["sql"] for query in captured.captured_queries]
    expected = [resident.pk] * runs + [case_officer.pk]
    assert all(f'"id" = {pk}' in sql for sql, pk in zip(logged, expected, strict=True))
    prepared = _prepared_statements()
    assert [s for s in prepared if '"accounts_user"' in s and "$1" in s] != [], prepared
    # The ORM's query, run as often: nothing more is prepared.
    for _time in range(runs):
        assert _with_flag(resident.pk).get() == resident
    assert _prepared_statements() == prepared


def test_with_prepared_statements_off_a_compiled_read_binds_on_the_client(resident, settings):
    """DATABASE_PREPARED_STATEMENTS=false (a pooler that cannot keep prepared statements):
    compiled statements run through Django's usual cursor, whose values are bound in the
    client, as the ORM's are, and nothing is prepared."""
    settings.DATABASE_PREPARED_STATEMENTS = False
    compiled = CompiledQuery(User, _with_flag, pk=(SAMPLE, USER_ID))
    before = _prepared_statements() if connection.vendor == "postgresql" else set()
    for _time in range(PREPARE_THRESHOLD + 2):
        assert compiled.first(pk=resident.pk) == resident
    if connection.vendor == "postgresql":
        assert _prepared_statements() == before


def _deallocate_behind_psycopgs_back() -> None:
    """What a pooler's or an administrator's ``DEALLOCATE ALL`` does: the session's
    prepared statements are gone, and psycopg does not know it."""
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")


@pytest.mark.django_db(transaction=True)  # runs outside a transaction, as a request's reads
def test_a_prepared_statement_gone_stale_runs_again_on_a_new_connection(
    prepared_statements_on, resident
):
    """A statement prepared on a connection that no longer serves (here dropped from the
    session; after a migration, a column that changed type) fails on that connection: the
    read runs again, once, on a new connection, and gives its rows. Inside a transaction
    the error is raised instead (the transaction has failed), and after its rollback the
    statement is prepared afresh."""
    compiled = CompiledQuery(User, _with_flag, pk=(SAMPLE, USER_ID))
    for _time in range(PREPARE_THRESHOLD + 1):
        assert compiled.first(pk=resident.pk) == resident
    first_connection = connection.connection
    _deallocate_behind_psycopgs_back()
    assert compiled.first(pk=resident.pk) == resident
    assert connection.connection is not first_connection
    for _time in range(PREPARE_THRESHOLD):  # prepared afresh on the new connection
        assert compiled.first(pk=resident.pk) == resident
    assert [s for s in _prepared_statements() if '"accounts_user"' in s and "$1" in s]

    _deallocate_behind_psycopgs_back()
    with pytest.raises(DatabaseError), transaction.atomic():
        compiled.first(pk=resident.pk)
    assert compiled.first(pk=resident.pk) == resident


SHOW_SETTING = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASE_PREPARED_STATEMENTS)"
)
POSTGRES = "postgres://ecitizen@db.internal:5432/ecitizen"


@pytest.mark.parametrize(
    ("environment", "shown"),
    [
        ({"DATABASE_URL": POSTGRES}, "True"),
        ({"DATABASE_URL": POSTGRES, "DATABASE_PREPARED_STATEMENTS": "false"}, "False"),
        ({"DATABASE_URL": "sqlite:////tmp/ecitizen.sqlite3"}, "False"),
    ],
    ids=["postgresql", "turned-off", "sqlite"],
)
def test_prepared_statements_are_on_for_postgresql_unless_turned_off(environment, shown):
    """``DATABASE_PREPARED_STATEMENTS``: on unless set false, for PostgreSQL only."""
    result = _run(environment, SHOW_SETTING)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown
