"""The API's interactive reference: Swagger UI from our own static files (no CDN), started
by a script file of our own, so the page keeps the site's Content Security Policy."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from ecitizen.core.access import public


@public
def api_docs(request: HttpRequest) -> HttpResponse:
    """The reference of every operation, read from the OpenAPI document. Public: it
    describes the API, not anyone's data."""
    return render(request, "api/docs.html", {"openapi_url": reverse("api_v1:openapi-json")})
