"""Someone who copies the database and the media folder reads none of the demo's personal
data (:func:`assert_nothing_personal_readable`, called by ``test_demo.py`` once the whole
demo is loaded: residents with profiles, cases with uploads and issued documents,
payments and receipts, the tax roll and its bills, the audit trail). The bytes of the
database and of every stored file are searched (``grep -F``) for each personal value the
application itself shows: names, national identity numbers, dates of birth, phone
numbers, addresses, postcodes, licence numbers and the other answers that are printed on
documents.

SQLite: the test database is copied page by page into a file (the backup API), which is
then compacted (``VACUUM``: free pages can still hold deleted rows; a deployment compacts
its file after the migrations that encrypt existing rows) and read as bytes, with its
write-ahead log if any. PostgreSQL: every table is dumped with ``COPY ... TO STDOUT``.

Issued documents are rendered as small *uncompressed* PDFs carrying the holder's name
and the printed values as plain text: WeasyPrint compresses its text, so a real PDF kept
unencrypted could slip through the search, and rendering a few hundred of them would
take minutes. What is tested is what storage does with the bytes.
"""

from __future__ import annotations

import datetime
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.apps import apps
from django.db import connection, models
from django.utils.formats import date_format

from ecitizen.accounts.models import ResidentProfile, User
from ecitizen.cases.demo import minimal_pdf
from ecitizen.cases.models import Case
from ecitizen.cases.services import spec_for
from ecitizen.documents.models import IssuedDocument
from ecitizen.taxes.models import Ownership, Property

#: The authority's town, printed on every letter: not personal.
NOT_PERSONAL = {"Riverton"}
#: Answers that are personal data, by question type.
PERSONAL_ANSWER_TYPES = {"text", "long_text", "address", "phone", "national_id", "date"}


def plain_pdf(*, holder_name: str, printed, **_context) -> bytes:
    """A small uncompressed PDF of what a document prints: a renderer for the demo's load
    whose output :func:`assert_nothing_personal_readable` could search."""
    lines = [holder_name, *(f"{label}: {value}" for label, value in printed)]
    return minimal_pdf(" | ".join(lines).replace("(", "[").replace(")", "]"))


def _database_dump(folder: Path) -> Path:
    """A file holding the database's bytes as an attacker who copies it would get them."""
    dump = folder / "database.bin"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with dump.open("wb") as out:
                for table in connection.introspection.table_names(cursor):
                    quoted = connection.ops.quote_name(table)
                    with cursor.cursor.copy(f"COPY {quoted} TO STDOUT") as copy:
                        for chunk in copy:
                            out.write(bytes(chunk))
            return dump
    copy_path = folder / "copy.sqlite3"
    target = sqlite3.connect(copy_path)
    connection.ensure_connection()
    connection.connection.backup(target)
    target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target.execute("VACUUM")
    target.close()
    wal = copy_path.with_name(copy_path.name + "-wal")
    dump.write_bytes(copy_path.read_bytes() + (wal.read_bytes() if wal.exists() else b""))
    return dump


def _dates(value: datetime.date) -> list[str]:
    return [value.isoformat(), date_format(value, "j F Y"), value.strftime("%d/%m/%Y")]


def _personal_answers() -> set[str]:
    """The answers of the demo's applications that are about people."""
    values: set[str] = set()
    for case in Case.objects.select_related("service_version"):
        spec = spec_for(case.service_version)
        for question_id, answer in case.answers.items():
            kind = (spec.questions.get(question_id) or {}).get("type")
            if kind not in PERSONAL_ANSWER_TYPES or not isinstance(answer, str):
                continue
            if kind != "date":
                values.add(answer if kind == "address" else answer[:60])
            elif datetime.date.fromisoformat(answer).year < 2020:  # not appointments
                values.update(_dates(datetime.date.fromisoformat(answer)))
    return values


def _personal_values() -> set[str]:
    """What the application shows of the demo's people (decrypted)."""
    values: set[str] = set()
    for user in User.objects.all():
        values.add(user.full_name)
    for profile in ResidentProfile.objects.all():
        values |= {
            profile.legal_name,
            profile.preferred_name,
            profile.national_id or "",
            profile.phone or "",
            profile.address_line_1,
            profile.address_line_2,
            profile.postcode,
        }
        if profile.date_of_birth:
            values.update(_dates(profile.date_of_birth))
    values |= _personal_answers()
    for document in IssuedDocument.objects.all():
        values.add(document.holder_name)
        if document.template == "receipt":
            continue  # what a receipt prints besides the name: amounts, dates, payment ids
        for _label, printed in document.printed_pairs():
            if any(ch.isdigit() for ch in printed) and len(printed) >= 6:
                values.add(printed)
    for ownership in Ownership.objects.all():
        values.add(ownership.owner_name)
    for prop in Property.objects.all():
        values |= {prop.address_line_1, prop.address_line_2, prop.postcode}
    # An address is searched line by line (as it may be stored), without the town.
    lines = {line.strip() for value in values for line in str(value or "").splitlines()}
    not_personal = NOT_PERSONAL | _organisation()
    return {line for line in lines if line and line not in not_personal}


def _organisation() -> set[str]:
    """What the authority itself publishes: its departments and wards by name and code (an
    answer naming one, like what a complaint is about, is not about a person), and the
    streets and postcodes of its gazetteer (a street report gives its place in those
    words; a resident living at a published postcode is not revealed by it)."""
    from ecitizen.accounts.models import Department, Jurisdiction
    from ecitizen.reports.geo import gazetteer

    names: set[str] = set()
    for model, code in ((Department, "slug"), (Jurisdiction, "code")):
        for row in model.objects.values("name", code):
            names |= {row["name"], row[code]}
    for place in gazetteer():
        names |= {place.street, place.postcode}
    return names


def _plain_dates() -> set[str]:
    """Every value of the plain date columns (such as the day an ownership started): a
    date of birth that happens to be one of them is not a leak."""
    dates: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if type(field) is models.DateField:
                for day in model._base_manager.values_list(field.name, flat=True):
                    if day is not None:
                        dates.update(_dates(day))
    return dates


def _patterns(values: set[str]) -> set[bytes]:
    """Each value as typed, in lower and upper case, and JSON-escaped (``\\u00e9``)."""
    forms: set[bytes] = set()
    for value in values:
        for form in (value, value.lower(), value.upper(), json.dumps(value)[1:-1]):
            forms.add(form.encode("utf-8"))
    return forms


def _grep(patterns: set[bytes], folder: Path, *paths: Path) -> list[str]:
    """The lines ``file:match`` of every pattern found in ``paths`` (files or folders)."""
    pattern_file = folder / "patterns.txt"
    pattern_file.write_bytes(b"\n".join(sorted(patterns)) + b"\n")
    grep = shutil.which("grep")
    assert grep, "the test needs grep"
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own files
        [grep, "-F", "-a", "-o", "-r", "-H", "-f", str(pattern_file), *map(str, paths)],
        capture_output=True,
        env={"LC_ALL": "C"},
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr.decode()
    return result.stdout.decode("utf-8", "replace").splitlines()


def assert_nothing_personal_readable(folder: Path, media: Path) -> None:
    """Search a copy of the database and the files under ``media`` for every personal value
    the application shows of the loaded demo; fail on any found.

    Precondition: the whole demo is loaded with :func:`plain_pdf` as the document renderer
    and ``media`` as ``MEDIA_ROOT``. Writes its dump and pattern files into ``folder``.
    """
    documents = IssuedDocument.objects.all()
    assert documents.exclude(template="receipt").exists()
    assert documents.filter(template="receipt").exists()
    assert Property.objects.count() > 100
    values = _personal_values()
    assert len(values) > 1000
    dump = _database_dump(folder)
    assert len(list(media.rglob("*.bin"))) > documents.count()  # uploads and issued PDFs

    # The search finds what it looks for: in a plain copy of the PDFs' contents.
    probe = folder / "probe.bin"
    probe.write_bytes(
        b"\n".join(
            plain_pdf(holder_name=d.holder_name, printed=d.printed_pairs()) for d in documents[:5]
        )
    )
    assert _grep(_patterns({documents[0].holder_name}), folder, probe)

    leaks = _grep(_patterns(values - _plain_dates()), folder, dump, media)
    assert not leaks, "\n".join(leaks[:40])
