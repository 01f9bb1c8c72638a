"""Addresses of the privacy app. ``urlpatterns`` (namespace ``privacy``, under
``/privacy/``): "Your data" and its downloads, the public summary of the records of
processing, and erasure's pages. ``staff_urlpatterns`` (namespace ``staff``, under
``/staff/privacy/``): the records of processing for the data-protection officer
(erasure's staff pages are mounted beside them from ``erasure_urls``)."""

from django.urls import URLPattern, URLResolver, path

from ecitizen.privacy import views
from ecitizen.privacy.erasure_urls import urlpatterns as erasure_patterns

app_name = "privacy"

urlpatterns: list[URLPattern | URLResolver] = [
    path("your-data/", views.your_data, name="data"),
    path("your-data/<uuid:export_id>/download/", views.download, name="data_download"),
    path("records/", views.records_summary, name="records"),
    *erasure_patterns,
]

staff_urlpatterns: list[URLPattern | URLResolver] = [
    path("records/", views.records_staff, name="privacy_records"),
]
