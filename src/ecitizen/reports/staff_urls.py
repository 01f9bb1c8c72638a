"""Staff addresses of street reports (under ``/staff/``, namespace ``staff``).

A report is named by its reference (``report``: its case's reference); the remit matrix
test (``tests/test_remit_matrix.py``) tries every address naming one, or one of its
photos, as officials inside and outside the case's department and ward.
"""

from django.urls import URLPattern, path

from ecitizen.reports import staff_views as views

staff_urlpatterns: list[URLPattern] = [
    path("reports/", views.reports_list, name="reports"),
    path("reports/update/", views.reports_bulk, name="reports_bulk"),
    path("reports/update/done/", views.reports_bulk_done, name="reports_bulk_done"),
    path("reports/apps/", views.api_clients, name="reports_api_clients"),
    path("reports/apps/new/", views.api_client_new, name="reports_api_client_new"),
    path(
        "reports/apps/<int:client_id>/key/",
        views.api_client_key,
        name="reports_api_client_key",
    ),
    path(
        "reports/apps/<int:client_id>/revoke/",
        views.api_client_revoke,
        name="reports_api_client_revoke",
    ),
    path("reports/<str:report>/hide/", views.report_hide, name="report_hide"),
    path("reports/<str:report>/merge/", views.report_merge, name="report_merge"),
    path(
        "reports/<str:report>/photos/<int:photo_id>/",
        views.report_photo,
        name="report_photo",
    ),
    path(
        "reports/<str:report>/photos/<int:photo_id>/hide/",
        views.report_photo_hide,
        name="report_photo_hide",
    ),
]
