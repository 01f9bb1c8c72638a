"""Elections in the public API (``/api/v1/elections``): the public record's summary,
public and read-only like the election pages (the full verifiable record, ballots and
proofs, is the Belenios-compatible archive: ``/voting/<slug>/archive/``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.voting import selectors
from ecitizen.voting.models import Election

router = Router(auth=None)


class ElectionSummary(Schema):
    slug: str
    uuid: str
    title: str
    state: str
    department: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime


class AnswerCount(Schema):
    label: str
    count: int


class QuestionResult(Schema):
    question: str
    answers: list[AnswerCount]
    blank: int | None = None
    total: int


class ElectionDetail(ElectionSummary):
    description: str
    questions: list[str]
    result: list[QuestionResult] = []


def _summary(election: Election) -> dict[str, Any]:
    return {
        "slug": election.slug,
        "uuid": election.uuid,
        "title": election.title,
        "state": election.state,
        "department": str(election.department),
        "opens_at": election.opens_at,
        "closes_at": election.closes_at,
    }


@router.get("", response=page_of(ElectionSummary), url_name="elections_list")
def elections_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Elections past their preparation (open, closed, published), newest first."""
    return paginate(request, selectors.elections_public(), page, transform=_summary)


@router.get("/{slug}", response=ElectionDetail, url_name="election_detail")
def election_detail(request: HttpRequest, slug: str) -> dict[str, Any]:
    """One election, with its result once published; 404 for one in preparation."""
    election = selectors.election_public_or_404(slug)
    rows = selectors.result_rows(election) if election.state == Election.State.PUBLISHED else []
    return {
        **_summary(election),
        "description": election.description,
        "questions": [question.text for question in selectors.questions_of(election)],
        "result": [
            {
                "question": row["question"].text,
                "answers": [{"label": a["label"], "count": a["count"]} for a in row["answers"]],
                "blank": row["blank"],
                "total": row["total"],
            }
            for row in rows
        ],
    }
