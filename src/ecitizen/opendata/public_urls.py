"""The catalogue's public pages (CKAN's paths). Anonymous reads may use the read replica
(ecitizen.core.dbrouter); a publisher signed in reads the primary."""

from django.urls import path

from ecitizen.core.dbrouter import replica_view
from ecitizen.opendata import views

urlpatterns = [
    path("dataset/", replica_view(views.dataset_search), name="search"),
    path("dataset/<slug:name>/", replica_view(views.dataset_detail), name="dataset"),
    path(
        "dataset/<slug:name>/history/",
        replica_view(views.dataset_history),
        name="dataset_history",
    ),
    path(
        "dataset/<slug:name>/history/<int:number>/",
        replica_view(views.dataset_revision),
        name="dataset_revision",
    ),
    path(
        "dataset/<slug:name>/resource/<uuid:resource_id>/",
        replica_view(views.resource_detail),
        name="resource",
    ),
    path("organization/", replica_view(views.organization_list), name="organizations"),
    path(
        "organization/<slug:slug>/",
        replica_view(views.organization_detail),
        name="organization",
    ),
]
