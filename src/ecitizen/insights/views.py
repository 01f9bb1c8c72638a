"""The dashboards (being written): authority, department, service, and their CSVs."""

from django.http import Http404, HttpRequest, HttpResponse


def _pending(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


authority = authority_csv = department = department_csv = service = service_csv = _pending
