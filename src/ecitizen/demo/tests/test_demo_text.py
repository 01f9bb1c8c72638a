"""The demo's residents answer in real words: no generated placeholder text ("Error sit
labore") reaches a case, a page or the staff queue."""

from __future__ import annotations

import random
import re

import pytest
import yaml
from faker import Faker
from faker.providers.lorem.la import Provider as LatinLorem

from ecitizen.cases.demo import demo_answer
from ecitizen.demo import riverton
from ecitizen.demo.riverton import DEFINITIONS_DIR

LOREM = {word.lower() for word in LatinLorem.word_list}
# Latin words that are also English ones, as written in real sentences.
ENGLISH_TOO = {"a", "in", "at", "non", "do", "id", "est", "et", "nam", "quo", "sed", "quia"}


def _text_questions():
    for path in sorted(DEFINITIONS_DIR.glob("*.yaml")):
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        for page in definition["pages"]:
            for question in page["questions"]:
                if question["type"] in {"text", "long_text"}:
                    yield path.stem, question


def _placeholder_words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    return (words & LOREM) - ENGLISH_TOO


@pytest.mark.parametrize(
    ("service", "question"),
    list(_text_questions()),
    ids=lambda value: value if isinstance(value, str) else value["id"],
)
def test_every_text_answer_of_the_demo_is_in_real_words(service, question):
    rng = random.Random(2026)
    fake = Faker("en_GB")
    fake.seed_instance(2026)
    answers = {
        demo_answer(
            question,
            applicant=None,
            rng=rng,
            fake=fake,
            texts=riverton.TEXT_ANSWERS,
            generic_texts=riverton.GENERIC_TEXTS,
            town="Riverton",
        )
        for _ in range(20)
    }
    for answer in answers:
        assert isinstance(answer, str)
        assert answer.strip()
        assert not _placeholder_words(answer), (service, question["id"], answer)
        rules = question.get("validation", {})
        assert rules.get("min_length", 0) <= len(answer) <= rules.get("max_length", 5000)


def test_the_fixed_answers_are_not_placeholders_either():
    for texts in [*riverton.TEXT_ANSWERS.values(), riverton.GENERIC_TEXTS]:
        for text in texts:
            assert not _placeholder_words(text), text
