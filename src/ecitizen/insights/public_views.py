"""The public performance page and a case officer's workload (being written)."""

from django.http import Http404, HttpRequest, HttpResponse


def _pending(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


performance = performance_csv = workload = _pending
