"""DCAT-AP addresses (included first in ``opendata.urls``, so that ``/dataset/<name>.ttl``
is not read as a dataset called ``<name>.ttl``). Anonymous reads may use the read replica
(ecitizen.core.dbrouter)."""

from django.urls import path, re_path

from ecitizen.core.dbrouter import replica_view
from ecitizen.opendata.dcat import views

urlpatterns = [
    path("catalog", views.catalog_root, name="dcat_catalog_root"),
    re_path(
        r"^catalog\.(?P<fmt>ttl|jsonld|rdf)$", replica_view(views.catalog), name="dcat_catalog"
    ),
    re_path(
        r"^dataset/(?P<name>[-a-zA-Z0-9_]+)\.(?P<fmt>ttl|jsonld|rdf)$",
        replica_view(views.dataset),
        name="dcat_dataset",
    ),
    path(
        "dataset/<slug:name>/resource/<uuid:resource_id>/schema.json",
        views.resource_schema,
        name="resource_schema",
    ),
]
