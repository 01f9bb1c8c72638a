"""Reading and checking service definition files.

A definition is a YAML file validated first against the JSON Schema that ships with the
package (``schemas/service-definition.schema.json``), then against the rules a schema
cannot state (references between parts of the file). Every problem is reported with the
file, the path inside it and what is wrong, e.g.::

    renew.yaml: at workflow.actions[2].to: 'aproved' is not a state of this service
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from jsonschema import Draft202012Validator

from ecitizen.core.patterns import pattern_problem

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "service-definition.schema.json"
NUMERIC_TYPES = {"number", "money"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.file}:{where}: {self.message}"


class InvalidDefinition(Exception):
    """A definition file cannot be published; ``problems`` says why, precisely."""

    code = "invalid_service_definition"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def checksum(definition: dict[str, Any]) -> str:
    """SHA-256 of the definition's canonical JSON: equal content, equal checksum."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Problems(list[Problem]):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def add(self, path: str, message: str) -> None:
        self.append(Problem(self.name, path, message))


def _question_problems(data: dict[str, Any], found: _Problems) -> dict[str, dict[str, Any]]:
    """Unique question ids; conditions refer to questions asked earlier. Returns the
    questions by id, eligibility included."""
    asked: dict[str, dict[str, Any]] = {
        item["id"]: {"type": "eligibility"} for item in data.get("eligibility", [])
    }
    for p_index, page in enumerate(data["pages"]):
        page_path = f"pages[{p_index}]"
        # A condition can only depend on answers given on earlier pages: the page is
        # shown or not before the resident answers it (without JavaScript).
        earlier = set(asked)
        condition = page.get("show_if")
        if condition and condition["question"] not in asked:
            found.add(
                f"{page_path}.show_if.question",
                f"{condition['question']!r} is not asked before this page",
            )
        for q_index, question in enumerate(page["questions"]):
            q_path = f"{page_path}.questions[{q_index}]"
            if question["id"] in asked:
                found.add(
                    f"{q_path}.id", f"{question['id']!r} is used twice; question ids must be unique"
                )
            condition = question.get("show_if")
            if condition and condition["question"] not in earlier:
                found.add(
                    f"{q_path}.show_if.question",
                    f"{condition['question']!r} is not asked on an earlier page",
                )
            pattern = (question.get("validation") or {}).get("pattern")
            reason = pattern_problem(pattern) if pattern is not None else None
            if reason:
                found.add(
                    f"{q_path}.validation.pattern",
                    f"the pattern cannot be used ({reason}); patterns are matched with RE2, "
                    "which has no back-references or look-arounds",
                )
            asked[question["id"]] = question
    return asked


def _fee_problems(fee: dict[str, Any], asked: dict[str, dict[str, Any]], found: _Problems) -> None:
    if fee.get("question"):
        target = asked.get(fee["question"])
        if target is None:
            found.add("fee.question", f"{fee['question']!r} is not a question of this service")
        elif target.get("type") not in NUMERIC_TYPES:
            found.add("fee.question", f"{fee['question']!r} must be a number or money question")
    bands = fee.get("bands", [])
    # A fixed fee or a band's fee is what the resident pays: it must be an amount of the
    # currency, not rounded silently on the way to the bill.
    charged = [("fee.amount", fee["amount"])] if fee.get("kind") == "fixed" else []
    charged += [(f"fee.bands[{index}].amount", band["amount"]) for index, band in enumerate(bands)]
    for path, amount in charged:
        _amount_problem(path, amount, found)
    for index, band in enumerate(bands[:-1]):
        if "up_to" not in band:
            found.add(f"fee.bands[{index}].up_to", "every band but the last needs an upper bound")
    if bands and "up_to" in bands[-1]:
        found.add(f"fee.bands[{len(bands) - 1}]", "the last band must have no upper bound")


def _amount_problem(path: str, amount: str, found: _Problems) -> None:
    """Add a problem when ``amount`` is finer than the currency's minor unit (trailing
    zeros are fine: ``"60.00"`` is sixty yen)."""
    from ecitizen.payments.money import currency_precision, to_minor

    try:
        to_minor(Decimal(amount))
    except ValueError:
        places = currency_precision()
        found.add(
            path, f"{amount!r} is not an amount of {settings.CURRENCY} ({places} decimal places)"
        )


def _action_problems(
    data: dict[str, Any], states: list[str], terminal: set[str], unknown: str, found: _Problems
) -> set[str]:
    """Actions move between known states, name who may take them and known
    notifications. Returns the states some action leaves."""
    notifications = {n["id"] for n in data.get("notifications", [])}
    for n_index, notification in enumerate(data["workflow"].get("on_submit_notify", [])):
        if notification not in notifications:
            found.add(
                f"workflow.on_submit_notify[{n_index}]",
                f"{notification!r} is not one of this service's notifications",
            )
    leaving: set[str] = set()
    for index, action in enumerate(data["workflow"]["actions"]):
        a_path = f"workflow.actions[{index}]"
        for f_index, source in enumerate(action["from"]):
            if source not in states:
                found.add(f"{a_path}.from[{f_index}]", f"{source!r} {unknown}")
            elif source in terminal:
                found.add(
                    f"{a_path}.from[{f_index}]", f"{source!r} ends the case; no action can leave it"
                )
            leaving.add(source)
        if action["to"] not in states:
            found.add(f"{a_path}.to", f"{action['to']!r} {unknown}")
        if not action["by"].get("roles") and not action["by"].get("resident"):
            found.add(f"{a_path}.by", "say who may take this action: roles, or resident: true")
        for n_index, notification in enumerate(action.get("notify", [])):
            if notification not in notifications:
                found.add(
                    f"{a_path}.notify[{n_index}]",
                    f"{notification!r} is not one of this service's notifications",
                )
    return leaving


def _workflow_problems(data: dict[str, Any], found: _Problems) -> None:
    workflow = data["workflow"]
    states = [state["id"] for state in workflow["states"]]
    unknown = f"is not a state of this service (states: {', '.join(states)})"
    for index, state in enumerate(states):
        if states.index(state) != index:
            found.add(f"workflow.states[{index}].id", f"{state!r} is used twice")
    if workflow["initial_state"] not in states:
        found.add("workflow.initial_state", f"{workflow['initial_state']!r} {unknown}")
    terminal = {s["id"] for s in workflow["states"] if s.get("outcome")}
    if not terminal:
        found.add("workflow.states", "at least one state must end the case (give it an outcome)")
    leaving = _action_problems(data, states, terminal, unknown, found)
    for index, state in enumerate(states):
        if state not in terminal and state not in leaving:
            found.add(
                f"workflow.states[{index}]",
                f"no action leaves {state!r}, and it has no outcome: cases would stay there",
            )
    document = data.get("issued_document")
    if document and document["on_state"] not in states:
        found.add("issued_document.on_state", f"{document['on_state']!r} {unknown}")


def _document_problems(data: dict[str, Any], asked: dict[str, Any], found: _Problems) -> None:
    for index, printed in enumerate(data.get("issued_document", {}).get("prints", [])):
        if printed["answer"] not in asked:
            found.add(
                f"issued_document.prints[{index}].answer",
                f"{printed['answer']!r} is not a question of this service",
            )


def _semantic_problems(name: str, data: dict[str, Any]) -> list[Problem]:
    """What the schema cannot say: references between parts of the definition."""
    found = _Problems(name)
    asked = _question_problems(data, found)
    _fee_problems(data.get("fee", {}), asked, found)
    _workflow_problems(data, found)
    _document_problems(data, asked, found)
    return list(found)


def parse_definition(name: str, text: str) -> dict[str, Any]:
    """The definition in ``text`` (YAML), checked; raises :class:`InvalidDefinition`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise InvalidDefinition(
            [Problem(name, where, f"not valid YAML: {getattr(error, 'problem', error)}")]
        ) from None
    if not isinstance(data, dict):
        raise InvalidDefinition(
            [Problem(name, "", "a definition must be a mapping of keys to values")]
        )
    schema_problems = [
        Problem(name, _path(error.absolute_path), error.message)
        for error in sorted(
            _validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))
        )
    ]
    if schema_problems:
        raise InvalidDefinition(schema_problems)
    semantic = _semantic_problems(name, data)
    if semantic:
        raise InvalidDefinition(semantic)
    return data


def read_definitions(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every ``*.yaml`` / ``*.yml`` file of ``directory``, checked, in name order. All
    problems of all files are gathered before raising, so one run reports them all."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise InvalidDefinition([Problem(str(directory), "", "no .yaml definition files here")])
    found: list[tuple[str, dict[str, Any]]] = []
    problems: list[Problem] = []
    slugs: dict[str, str] = {}
    for path in files:
        try:
            data = parse_definition(path.name, path.read_text(encoding="utf-8"))
        except InvalidDefinition as error:
            problems.extend(error.problems)
            continue
        if data["slug"] in slugs:
            problems.append(
                Problem(
                    path.name, "slug", f"{data['slug']!r} is also the slug of {slugs[data['slug']]}"
                )
            )
            continue
        slugs[data["slug"]] = path.name
        found.append((path.name, data))
    if problems:
        raise InvalidDefinition(problems)
    return found
