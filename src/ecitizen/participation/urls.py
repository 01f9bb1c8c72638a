"""Addresses of participation. ``urlpatterns`` (namespace ``participation``, under
``/participate/``): processes, consultations and surveys, proposals, comments, budgets and
their ballots and results. ``staff_urlpatterns`` (namespace ``staff``, under
``/staff/participation/``): organising, paper entries, answers, moderation, feasibility,
results and delivery. Each area's view module lists its own addresses."""

from django.urls import URLPattern, URLResolver

from ecitizen.participation.views import budgets, comments, consultations, processes, proposals

app_name = "participation"

# Processes last: their ``<slug>/`` would otherwise take the other areas' fixed addresses
# (``moderation/``, ``answers/``) for a process's slug.
_AREAS = (consultations, proposals, comments, budgets, processes)

urlpatterns: list[URLPattern | URLResolver] = [pattern for area in _AREAS for pattern in area.urls]
staff_urlpatterns: list[URLPattern | URLResolver] = [
    pattern for area in _AREAS for pattern in area.staff_urls
]
