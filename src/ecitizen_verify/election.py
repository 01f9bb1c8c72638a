"""The election message (specification §4.9–4.10), as parsed from its stored bytes."""

from __future__ import annotations

from dataclasses import dataclass

from gmpy2 import mpz

from .errors import Invalid
from .group import Group, group_named
from .serial import array, dumps, fingerprint, loads, members, number

ELECTION_MEMBERS = (
    "version",
    "description",
    "name",
    "group",
    "public_key",
    "questions",
    "uuid",
    "administrator",
    "credential_authority",
)
QUESTION_MEMBERS = ("answers", "blank", "min", "max", "question")


@dataclass(frozen=True)
class Question:
    """A homomorphic question: choose between `min` and `max` of `answers`, or vote blank
    when `blank` is true. Its ciphertexts count one per answer, plus a leading blank flag
    when blank is allowed."""

    text: str
    answers: tuple[str, ...]
    min: int
    max: int
    blank: bool

    @property
    def width(self) -> int:
        """How many ciphertexts an answer to this question has."""
        return len(self.answers) + (1 if self.blank else 0)

    def to_json(self) -> dict[str, object]:
        value: dict[str, object] = {"answers": list(self.answers)}
        if self.blank:
            value["blank"] = True
        value.update({"min": self.min, "max": self.max, "question": self.text})
        return value

    def check_plaintext(self, choices: list[int]) -> None:
        """Raise Invalid unless `choices` (0/1 per answer, blank flag first when allowed)
        is a vote this question accepts."""
        if len(choices) != self.width or any(c not in (0, 1) for c in choices):
            raise Invalid(f"an answer to {self.text!r} must be {self.width} zeros or ones")
        if self.blank and choices[0] == 1:
            if any(choices[1:]):
                raise Invalid(f"a blank vote for {self.text!r} selects no answer")
            return
        selected = sum(choices[1:] if self.blank else choices)
        if not self.min <= selected <= self.max:
            raise Invalid(f"{self.text!r} needs between {self.min} and {self.max} answers")


@dataclass(frozen=True)
class Election:
    """An election as the archive holds it: `raw` is its exact bytes, which its
    fingerprint (φ, `election_hash` in ballots) is computed over."""

    raw: bytes
    uuid: str
    name: str
    description: str
    group: Group
    public_key: mpz
    questions: tuple[Question, ...]
    administrator: str | None
    credential_authority: str | None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)


def election_bytes(
    *,
    uuid: str,
    name: str,
    description: str,
    group: Group,
    public_key: int,
    questions: list[Question],
    administrator: str | None = None,
    credential_authority: str | None = None,
) -> bytes:
    """The election message, members in the specification's order."""
    value: dict[str, object] = {
        "version": 1,
        "description": description,
        "name": name,
        "group": group.name,
        "public_key": str(public_key),
        "questions": [question.to_json() for question in questions],
        "uuid": uuid,
    }
    if administrator is not None:
        value["administrator"] = administrator
    if credential_authority is not None:
        value["credential_authority"] = credential_authority
    return dumps(value)


def parse_election(raw: bytes) -> Election:
    """Parse the stored election, raising Invalid for anything ecitizen cannot verify."""
    value = loads(raw, "the election")
    if not isinstance(value, dict) or set(value) - set(ELECTION_MEMBERS):
        raise Invalid("the election has members that version 1 does not define")
    if value.get("version") != 1:
        raise Invalid("the election is not version 1 of the Belenios format")
    group = group_named(str(value.get("group")))
    public_key = number(value.get("public_key"), "the election public key")
    if not group.is_element(public_key):
        raise Invalid("the election public key is not an element of the group")
    group.precompute(public_key)
    questions = []
    for position, item in enumerate(array(value.get("questions"), "the questions"), 1):
        what = f"question {position}"
        if not isinstance(item, dict) or "type" in item:
            raise Invalid(
                f"{what} is not homomorphic, and only homomorphic questions are supported"
            )
        members(item, QUESTION_MEMBERS, what, optional=("blank",))
        answers = array(item["answers"], f"{what}'s answers")
        low, high = item["min"], item["max"]
        if not all(isinstance(a, str) for a in answers) or not answers:
            raise Invalid(f"{what} must have answers written as text")
        if not (
            isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= len(answers)
        ):
            raise Invalid(f"{what} must have 0 ≤ min ≤ max ≤ the number of answers")
        blank = item.get("blank", False)
        if blank not in (True, False):
            raise Invalid(f"{what}'s blank must be true or false")
        questions.append(Question(item["question"], tuple(answers), low, high, blank))
    if not questions:
        raise Invalid("the election has no question")
    uuid = value.get("uuid")
    if not isinstance(uuid, str) or len(uuid) < 14:
        raise Invalid("the election uuid must be at least 14 Base58 characters")
    return Election(
        raw=raw,
        uuid=uuid,
        name=str(value.get("name", "")),
        description=str(value.get("description", "")),
        group=group,
        public_key=mpz(public_key),
        questions=tuple(questions),
        administrator=value.get("administrator"),
        credential_authority=value.get("credential_authority"),
    )
