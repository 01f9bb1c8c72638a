"""Forecasts, staffing and costs pages (being written)."""

from django.http import Http404, HttpRequest, HttpResponse


def _pending(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


forecast = forecast_csv = staffing_edit = costs_home = role_costs = service_costs = _pending
recompute = _pending
