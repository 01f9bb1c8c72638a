"""The public catalogue: every service, search, and each service's start page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from ecitizen.accounts.selectors import user_has_role
from ecitizen.catalogue import selectors
from ecitizen.core.access import public

SEARCH_MAX_LENGTH = 200
#: Who may apply for someone else: helpers (assisted) and officials keying in a paper
#: form (counter).
#: The cases app's capability of applying for a resident (named, not imported: the
#: catalogue is below cases).
APPLY_FOR_OTHERS = "cases.apply_for_others"


@public
def service_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "catalogue/list.html",
        {"by_topic": selectors.services_by_topic()},
    )


@public
def service_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    language = (translation.get_language() or "en").split("-")[0]
    results = selectors.services_search(query=query, language=language) if query else []
    return render(
        request,
        "catalogue/search.html",
        {"query": query, "results": results, "searched": bool(query)},
    )


@public
def service_start(request: HttpRequest, slug: str) -> HttpResponse:
    service = selectors.service_get_published(slug=slug)
    spec = selectors.service_spec(service)
    return render(
        request,
        "catalogue/start.html",
        {
            "service": service,
            "spec": spec,
            "definition": spec.definition,
            "fee_text": spec.fee_text(),
            "user_is_helper": user_has_role(request.user, APPLY_FOR_OTHERS),
        },
    )
