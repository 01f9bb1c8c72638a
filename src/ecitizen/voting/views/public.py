"""Public pages of elections (``voting:``, under ``/voting/``): the list, an election's
page (parameters, questions, trustees, dates, where it stands), its ballot box (trackers
only, and "find my tracker"), its result with the decryptions behind it, the archive
download, and the "Verify this election" page that checks the archive in the browser.

Everything here is what a verifier needs and nothing that links a ballot to a person."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse

from ecitizen.core.access import public
from ecitizen.voting import selectors
from ecitizen.voting.models import Election
from ecitizen.voting.services.common import voting_window_open
from ecitizen.voting.services.record import archive_chunks


@public
def elections(request: HttpRequest) -> HttpResponse:
    """Every election past its preparation: open ones first, then coming, then past."""
    found = list(selectors.elections_public())
    groups = {
        "open": [e for e in found if e.state == Election.State.OPEN],
        "coming": [e for e in found if e.state == Election.State.SETUP],
        "past": [e for e in found if e.state in (Election.State.CLOSED, Election.State.PUBLISHED)],
    }
    return render(request, "voting/elections.html", {"groups": groups})


@public
def election(request: HttpRequest, slug: str) -> HttpResponse:
    found = selectors.election_public_or_404(slug)
    return render(
        request,
        "voting/election.html",
        {
            "election": found,
            "questions": selectors.questions_of(found),
            "trustees": selectors.trustees_of(found),
            "voting_open": voting_window_open(found),
            "has_record": found.record_length > 0,
            "archive_name": selectors.archive_name(found),
            "box": selectors.ballot_box(found, limit=0),
        },
    )


@public
def ballots(request: HttpRequest, slug: str) -> HttpResponse:
    """The public ballot box: every ballot's tracker and time (no voter), and the search."""
    found = selectors.election_public_or_404(slug)
    tracker = request.GET.get("tracker", "")[:60]
    return render(
        request,
        "voting/ballots.html",
        {
            "election": found,
            "box": selectors.ballot_box(found, tracker=tracker),
            "tracker": tracker,
        },
    )


@public
def result(request: HttpRequest, slug: str) -> HttpResponse:
    found = selectors.election_public_or_404(slug)
    published = selectors.published_counting(found)
    return render(
        request,
        "voting/result.html",
        {
            "election": found,
            "rows": selectors.result_rows(found),
            "decryptions": selectors.decryptions_of(found, published),
            "archive_name": selectors.archive_name(found),
            "published": published,
        },
    )


@public
def archive(request: HttpRequest, slug: str, name: str) -> Any:  # StreamingHttpResponse
    """The election's public archive, streamed (``belenios-tool election verify`` reads it)."""
    found = selectors.election_public_or_404(slug)
    if name != selectors.archive_name(found) or found.record_length == 0:
        raise Http404
    response = StreamingHttpResponse(archive_chunks(found), content_type="application/x-tar")
    response["Content-Disposition"] = f'attachment; filename="{selectors.archive_name(found)}"'
    response["Cache-Control"] = "no-cache"
    return response


@public
def verify(request: HttpRequest, slug: str) -> HttpResponse:
    """Check the election in the browser (a Web Worker runs the verifier on the archive)."""
    found = selectors.election_public_or_404(slug)
    return render(
        request,
        "voting/verify.html",
        {
            "election": found,
            "has_record": found.record_length > 0,
            "archive_url": reverse(
                "voting:archive", args=[found.slug, selectors.archive_name(found)]
            ),
            "archive_name": selectors.archive_name(found),
        },
    )


urls: list[URLPattern] = [
    path("", elections, name="elections"),
    path("<slug:slug>/", election, name="election"),
    path("<slug:slug>/ballots/", ballots, name="ballots"),
    path("<slug:slug>/result/", result, name="result"),
    path("<slug:slug>/verify/", verify, name="verify"),
    path("<slug:slug>/archive/<str:name>", archive, name="archive"),
]
