"""The catalogue's public pages (CKAN's paths)."""

from django.urls import path

from ecitizen.opendata import views

urlpatterns = [
    path("dataset/", views.dataset_search, name="search"),
    path("dataset/<slug:name>/", views.dataset_detail, name="dataset"),
    path("dataset/<slug:name>/history/", views.dataset_history, name="dataset_history"),
    path(
        "dataset/<slug:name>/history/<int:number>/",
        views.dataset_revision,
        name="dataset_revision",
    ),
    path(
        "dataset/<slug:name>/resource/<uuid:resource_id>/",
        views.resource_detail,
        name="resource",
    ),
    path("organization/", views.organization_list, name="organizations"),
    path("organization/<slug:slug>/", views.organization_detail, name="organization"),
]
