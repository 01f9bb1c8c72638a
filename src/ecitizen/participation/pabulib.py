"""Pabulib files (``.pb``): a participatory budget's projects and anonymised ballots in
the open format of pabulib.org, read by pabutools and checked by pabulib-checker. Pure: no
Django, no database.

A file is three sections of semicolon-separated values, in this order: ``META`` (rows
``key;value``), ``PROJECTS`` (a header row starting with ``project_id``, then a row per
project) and ``VOTES`` (a header starting with ``voter_id``, then a row per voter). Lists
(the projects of a vote, a project's categories) are comma-separated with no spaces. Keys
and columns are those of the format, written in its order (:data:`META_KEYS`,
:data:`PROJECT_COLUMNS`, :data:`VOTE_COLUMNS`); a key it does not know is refused.

:func:`pabulib_dump` also keeps a file consistent the way the checker wants it:
``num_projects`` and ``num_votes`` are counted, the ``votes`` column is counted from the
votes, ``fully_funded`` is set when the budget covers every project, a ``max_length`` of
all the projects or more (no limit) is left out, and projects are written most votes
first, equal votes by ``project_id`` compared as text: the order pabutools breaks ties in,
which the checker's greedy check keeps among equal votes. Each heading of a budget is one
file (one instance).

:func:`pabulib_rule` says which ``rule`` (and ``comment``) to write for an outcome of
:mod:`ecitizen.participation.counting`: see its docstring.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

from ecitizen.participation.counting import GREEDY, Instance, Outcome

#: META keys of the format, in the order it writes them.
META_KEYS = (
    "description",
    "country",
    "unit",
    "district",
    "subunit",
    "instance",
    "num_projects",
    "num_votes",
    "budget",
    "vote_type",
    "rule",
    "date_begin",
    "date_end",
    "min_length",
    "max_length",
    "min_sum_cost",
    "max_sum_cost",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
    "default_score",
    "min_project_cost",
    "max_project_cost",
    "min_project_score_threshold",
    "neighborhoods",
    "subdistricts",
    "categories",
    "edition",
    "language",
    "currency",
    "fully_funded",
    "experimental",
    "comment",
    "acknowledgments",
)
#: META keys a file must have (the counts are filled in by :func:`pabulib_dump`).
META_REQUIRED = (
    "description",
    "country",
    "unit",
    "instance",
    "num_projects",
    "num_votes",
    "budget",
    "vote_type",
    "rule",
    "date_begin",
    "date_end",
)
PROJECT_COLUMNS = (
    "project_id",
    "cost",
    "votes",
    "score",
    "name",
    "category",
    "beneficiaries",
    "selected",
    "neighborhood",
    "subunit",
    "district",
    "description",
    "proposer",
    "public_id",
    "latitude",
    "longitude",
)
VOTE_COLUMNS = (
    "voter_id",
    "vote",
    "points",
    "age",
    "sex",
    "voting_method",
    "district",
    "neighborhood",
    "education",
)
#: Values that are lists, written comma-separated.
LIST_FIELDS = frozenset(
    {"vote", "points", "category", "beneficiaries", "categories", "neighborhoods", "subdistricts"}
)
VOTE_TYPES = ("approval", "choose-1", "cumulative", "scoring", "ordinal")
#: ``selected``: 1 chosen, 0 not.
SELECTED, NOT_SELECTED = 1, 0

_SPACE = re.compile(r"\s+")


class PabulibError(ValueError):
    """A file that does not follow the format, or data that cannot be written in it."""


def _natural(text: str) -> tuple[int, int | str]:
    return (0, int(text)) if text.isdigit() else (1, text)


def _number(value: int | Decimal | Fraction | float, field: str) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Fraction):
        denominator = value.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        if denominator != 1:
            raise PabulibError(f"{field}: {value} has no finite decimal form")
        value = Decimal(value.numerator) / Decimal(value.denominator)
    if not value.is_finite():
        raise PabulibError(f"{field}: {value} is not a number")
    return format(value.normalize(), "f")


def _text(value: object, field: str) -> str:
    """One value written the format's way: numbers in plain decimal notation, dates as
    ``DD.MM.YYYY``, text on one line without surrounding spaces, lists comma-separated."""
    if isinstance(value, bool) or value is None:
        raise PabulibError(f"{field}: {value!r} cannot be written")
    if isinstance(value, str):
        text = _SPACE.sub(" ", value).strip()
    elif isinstance(value, int | Decimal | Fraction | float):
        text = _number(value, field)
    elif isinstance(value, date):
        text = value.strftime("%d.%m.%Y")
    elif isinstance(value, list | tuple | set | frozenset):
        items = [_text(item, field) for item in value]
        if isinstance(value, set | frozenset):
            items.sort(key=_natural)
        if any("," in item for item in items):
            raise PabulibError(f"{field}: a list item contains a comma")
        text = ",".join(items)
    else:
        raise PabulibError(f"{field}: a {type(value).__name__} cannot be written")
    if field not in LIST_FIELDS and field != "comment" and not text:
        raise PabulibError(f"{field}: empty")
    return text


def _ids(value: object) -> list[str]:
    if isinstance(value, str):
        return [item for item in value.split(",") if item]
    if isinstance(value, list | tuple | set | frozenset):
        return [_text(item, "vote") for item in value]
    raise PabulibError("a vote must be a list of project ids")


def _columns(rows: Sequence[Mapping[str, object]], order: tuple[str, ...], what: str) -> list[str]:
    keys = set(rows[0]) if rows else {order[0]}
    for row in rows:
        if set(row) != keys:
            raise PabulibError(f"every {what} row must have the same columns")
    unknown = keys - set(order)
    if unknown:
        raise PabulibError(f"{what}: columns the format does not know: {sorted(unknown)}")
    if order[0] not in keys:
        raise PabulibError(f"{what}: the {order[0]} column is required")
    return [column for column in order if column in keys]


def _counted_votes(project_ids: list[str], votes: Sequence[Mapping[str, object]]) -> dict[str, int]:
    """Each project's votes, after checking the votes: distinct voter ids, at least one
    project each, known projects, none twice."""
    counted = dict.fromkeys(project_ids, 0)
    voter_ids: set[str] = set()
    for row in votes:
        voter = _text(row.get("voter_id"), "voter_id")
        if voter in voter_ids:
            raise PabulibError(f"VOTES: voter_id {voter} appears twice")
        voter_ids.add(voter)
        chosen = _ids(row.get("vote"))
        if not chosen:
            raise PabulibError(f"VOTES: voter {voter} chose no project")
        if len(set(chosen)) != len(chosen):
            raise PabulibError(f"VOTES: voter {voter} chose a project twice")
        for pid in chosen:
            if pid not in counted:
                raise PabulibError(f"VOTES: voter {voter} chose an unknown project {pid}")
            counted[pid] += 1
    return counted


def _project_rows(
    projects: Sequence[Mapping[str, object]], votes: Sequence[Mapping[str, object]]
) -> tuple[list[dict[str, object]], Fraction]:
    """The PROJECTS rows with their counted votes, most votes first, then by
    ``project_id`` compared as text; and the cost of all the projects."""
    project_ids = [_text(row.get("project_id"), "project_id") for row in projects]
    if len(set(project_ids)) != len(project_ids):
        raise PabulibError("PROJECTS: a project_id appears twice")
    if any("," in pid or ";" in pid for pid in project_ids):
        raise PabulibError("PROJECTS: a project_id cannot contain a comma or a semicolon")
    counted = _counted_votes(project_ids, votes)
    rows: list[tuple[int, str, dict[str, object]]] = []
    total = Fraction(0)
    for pid, row in zip(project_ids, projects, strict=True):
        cost = row.get("cost")
        if not isinstance(cost, int | Decimal | Fraction) or isinstance(cost, bool) or cost <= 0:
            raise PabulibError(f"PROJECTS: the cost of project {pid} must be more than zero")
        if "votes" in row and row["votes"] != counted[pid]:
            raise PabulibError(
                f"PROJECTS: project {pid} has {counted[pid]} votes, not {row['votes']}"
            )
        total += Fraction(cost)
        rows.append((-counted[pid], pid, {**row, "project_id": pid, "votes": counted[pid]}))
    rows.sort(key=lambda entry: entry[:2])
    return [row for _, _, row in rows], total


def _completed_meta(
    meta: Mapping[str, object], projects: int, total: Fraction, votes: int
) -> dict[str, object]:
    completed = dict(meta)
    unknown = set(completed) - set(META_KEYS)
    if unknown:
        raise PabulibError(f"META: keys the format does not know: {sorted(unknown)}")
    budget = completed.get("budget")
    if not isinstance(budget, int | Decimal | Fraction) or isinstance(budget, bool):
        raise PabulibError("META: the budget must be an exact amount")
    completed["num_projects"] = projects
    completed["num_votes"] = votes
    completed.pop("fully_funded", None)
    if budget >= total:
        completed["fully_funded"] = 1
    max_length = completed.get("max_length")
    if isinstance(max_length, int) and max_length >= projects:
        del completed["max_length"]
    if completed.get("vote_type") not in VOTE_TYPES:
        raise PabulibError(f"META: vote_type must be one of {', '.join(VOTE_TYPES)}")
    missing = [key for key in META_REQUIRED if completed.get(key) in (None, "")]
    if missing:
        raise PabulibError(f"META: required keys missing: {missing}")
    return completed


def pabulib_dump(
    *,
    meta: Mapping[str, object],
    projects: Sequence[Mapping[str, object]],
    votes: Sequence[Mapping[str, object]],
) -> str:
    """A Pabulib file's text (UTF-8 once encoded, lines ending in ``\\n``).

    ``meta``: the file's META values by key (``num_projects``, ``num_votes`` and
    ``fully_funded`` are worked out; ``date_begin``/``date_end`` may be dates).
    ``projects``: a row per project with ``project_id`` and ``cost`` (and e.g. ``name``,
    ``selected``); ``votes``: a row per voter, ``voter_id`` (the caller numbers voters:
    the file must not say who they are; :func:`pabulib_votes` does it) and ``vote`` (the
    project ids; a set is written in natural order, a list as given), optionally
    ``voting_method`` ("internet" or "paper"). Every row of a section has the same
    columns.

    Raises :class:`PabulibError` (a ValueError) for anything the format cannot hold:
    an unknown key or column, a missing required one, a duplicate id, a vote for an
    unknown project, the same project twice in a vote, an empty vote (the checker refuses
    them), a ``votes`` column that disagrees with the votes, a cost not more than zero."""
    rows, total = _project_rows(projects, votes)
    completed = _completed_meta(meta, len(rows), total, len(votes))
    project_columns = _columns(rows, PROJECT_COLUMNS, "PROJECTS")
    vote_columns = _columns(votes, VOTE_COLUMNS, "VOTES")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    for key in META_KEYS:
        if key in completed:
            writer.writerow([key, _text(completed[key], key)])
    writer.writerow(["PROJECTS"])
    writer.writerow(project_columns)
    for row in rows:
        writer.writerow([_text(row[column], column) for column in project_columns])
    writer.writerow(["VOTES"])
    writer.writerow(vote_columns)
    for vote in votes:
        writer.writerow([_text(vote[column], column) for column in vote_columns])
    return out.getvalue()


def pabulib_load(
    text: str,
) -> tuple[dict[str, str], list[dict[str, str | list[str]]], list[dict[str, str | list[str]]]]:
    """A Pabulib file's META values, projects and votes, as text (list fields as lists
    of text), in the file's order. Raises :class:`PabulibError` when the sections are
    missing, out of order or malformed."""
    meta: dict[str, str] = {}
    sections: dict[str, list[dict[str, str | list[str]]]] = {"projects": [], "votes": []}
    section, header = "", []
    seen: list[str] = []
    rows = csv.reader(text.removeprefix("\ufeff").splitlines(), delimiter=";")
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        marker = row[0].strip().lower()
        if marker in ("meta", "projects", "votes") and len(row) == 1:
            if marker in seen:
                raise PabulibError(f"section {marker.upper()} appears twice")
            seen.append(marker)
            section = marker
            header = [cell.strip() for cell in next(rows, [])]
            expected = {"meta": "key", "projects": "project_id", "votes": "voter_id"}[marker]
            if not header or header[0].lower() != expected:
                raise PabulibError(f"section {marker.upper()} must start with {expected}")
            continue
        if section == "meta":
            meta[row[0].strip()] = row[1].strip() if len(row) > 1 else ""
        elif section:
            if len(row) != len(header):
                raise PabulibError(
                    f"{section.upper()}: a row has {len(row)} values, not {len(header)}"
                )
            sections[section].append(
                {
                    column: (
                        [item for item in value.strip().split(",") if item]
                        if column in LIST_FIELDS
                        else value.strip()
                    )
                    for column, value in zip(header, row, strict=True)
                }
            )
        else:
            raise PabulibError("a row comes before the META section")
    if seen != ["meta", "projects", "votes"]:
        raise PabulibError("a file has the sections META, PROJECTS and VOTES, in this order")
    return meta, sections["projects"], sections["votes"]


def pabulib_instance(text: str) -> Instance:
    """The instance a Pabulib file of approval votes describes, for
    :func:`ecitizen.participation.counting.count`: costs and budget as exact decimals."""
    meta, projects, votes = pabulib_load(text)
    if meta.get("vote_type") not in ("approval", "choose-1"):
        raise PabulibError("only approval votes can be counted")
    return Instance(
        projects={str(p["project_id"]): Decimal(str(p["cost"])) for p in projects},
        budget=Decimal(meta["budget"]),
        ballots=[frozenset(v["vote"]) for v in votes],
    )


def pabulib_rule(outcome: Outcome) -> tuple[str, str]:
    """The ``rule`` and ``comment`` META values for a file whose ``selected`` column is
    ``outcome``'s winners.

    Pabulib names "greedy" and "equalshares" (the checker counts them again and compares
    the ``selected`` column), but its tools count them in whole units of money (costs
    rounded down) and break equal-shares ties by lower cost, then more votes. So the name
    is written only when that count cannot differ from ours: greedy with whole amounts;
    equal shares without completion with whole amounts and no tie. Otherwise, and for equal
    shares with completion (add1 then greedy, which Pabulib has no name for), the rule is
    "unknown" and the comment says exactly which rule was used."""
    whole = outcome.budget.denominator == 1 and all(
        project.cost.denominator == 1 for project in outcome.projects.values()
    )
    tied = any(
        project.shares is not None and project.shares.tied_with
        for project in outcome.projects.values()
    )
    return pabulib_rule_of(
        method=outcome.method, completion=outcome.completion, whole=whole, tied=tied
    )


def pabulib_rule_of(*, method: str, completion: bool, whole: bool, tied: bool) -> tuple[str, str]:
    """:func:`pabulib_rule` from the facts it depends on: the method and whether it was
    completed, whether every amount is whole, whether equal shares met a tie (so that a
    count already stored gives the file's rule without counting again)."""
    ties = "ties broken by project_id compared as text"
    if method == GREEDY:
        comment = f"#1: Greedy: projects by votes, each chosen if it still fits; {ties}."
        return ("greedy" if whole else "unknown"), comment
    shares = "Method of Equal Shares with cost utilities"
    if completion:
        comment = (
            f"#1: {shares}, completed: every voter's share raised by 1 unit of money while "
            f"the outcome fits (add1), then the money left given greedily by votes; {ties}."
        )
        return "unknown", comment
    comment = f"#1: {shares}, without completion; {ties}."
    return ("equalshares" if whole and not tied else "unknown"), comment


def pabulib_votes(
    ballots: Iterable[Iterable[str]], *, channels: Iterable[str] | None = None
) -> list[dict[str, object]]:
    """VOTES rows for ``ballots``, anonymised: sorted by what they chose (then by
    channel), so that neither the order nor the number of a row says who voted or when,
    and numbered from 1. ``channels`` ("internet" or "paper", one per ballot) adds the
    ``voting_method`` column."""
    chosen = [sorted({str(pid) for pid in ballot}, key=_natural) for ballot in ballots]
    methods = list(channels) if channels is not None else [""] * len(chosen)
    if len(methods) != len(chosen):
        raise PabulibError("one channel per ballot")
    pairs = sorted(
        zip(chosen, methods, strict=True),
        key=lambda pair: ([_natural(pid) for pid in pair[0]], pair[1]),
    )
    rows: list[dict[str, object]] = []
    for number, (vote, method) in enumerate(pairs, start=1):
        row: dict[str, object] = {"voter_id": number, "vote": vote}
        if channels is not None:
            row["voting_method"] = method
        rows.append(row)
    return rows
