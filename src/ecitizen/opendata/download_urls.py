"""Downloads: a resource's file as uploaded, and any DataStore table as CSV, JSON or
Parquet (streamed)."""

from django.urls import path

from ecitizen.opendata import downloads

urlpatterns = [
    path(
        "dataset/<slug:name>/resource/<uuid:resource_id>/download/<str:filename>",
        downloads.resource_download,
        name="resource_download",
    ),
    path(
        "dataset/<slug:name>/resource/<uuid:resource_id>/export.<str:fmt>",
        downloads.resource_export,
        name="resource_export",
    ),
]
