"""Addresses of insights. ``urlpatterns`` (namespace ``insights``, at the site's root):
the public performance page. ``staff_urlpatterns`` (namespace ``staff``, under
``/staff/``): the dashboards of the authority, a department and a service, each chart's
data as CSV, forecasts and staffing, costs, and a case officer's own workload.

A department is named by its slug, a service by its slug; the remit matrix test tries
every address as officials inside and outside the department."""

from django.urls import URLPattern, path

from ecitizen.core.dbrouter import replica_view
from ecitizen.insights import plan_views, public_views, views

app_name = "insights"

# The public figures: anonymous reads may use the read replica (ecitizen.core.dbrouter).
urlpatterns: list[URLPattern] = [
    path("performance/", replica_view(public_views.performance), name="performance"),
    path(
        "performance/kpis.csv", replica_view(public_views.performance_csv), name="performance_csv"
    ),
]

staff_urlpatterns: list[URLPattern] = [
    path("insights/", views.authority, name="insights"),
    path("insights/csv/<slug:chart>.csv", views.authority_csv, name="insights_csv"),
    path(
        "insights/departments/<slug:department>/",
        views.department,
        name="insights_department",
    ),
    path(
        "insights/departments/<slug:department>/csv/<slug:chart>.csv",
        views.department_csv,
        name="insights_department_csv",
    ),
    path("insights/services/<slug:service>/", views.service, name="insights_service"),
    path(
        "insights/services/<slug:service>/csv/<slug:chart>.csv",
        views.service_csv,
        name="insights_service_csv",
    ),
    path(
        "insights/services/<slug:service>/forecast/",
        plan_views.forecast,
        name="insights_forecast",
    ),
    path(
        "insights/services/<slug:service>/forecast/<slug:series>.csv",
        plan_views.forecast_csv,
        name="insights_forecast_csv",
    ),
    path(
        "insights/services/<slug:service>/staffing/",
        plan_views.staffing_edit,
        name="insights_staffing",
    ),
    path("insights/costs/", plan_views.costs_home, name="insights_costs_home"),
    path("insights/costs/roles/", plan_views.role_costs, name="insights_role_costs"),
    path(
        "insights/services/<slug:service>/costs/",
        plan_views.service_costs,
        name="insights_costs",
    ),
    path("insights/recompute/", plan_views.recompute, name="insights_recompute"),
    path("insights/workload/", public_views.workload, name="insights_workload"),
]
