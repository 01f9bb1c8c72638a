"""The publishers' addresses (under ``/staff/``, namespace ``staff``).

A dataset is named by its ``name`` (under ``datasets/``, so that no dataset name can
clash with the pages beside it), a file by its id, an API token by its number. The remit
matrix test (``tests/test_remit_matrix.py``) tries every one of them as officials inside
and outside the dataset's department and ward, and as another publisher for a token.
"""

from django.urls import URLPattern, path

from ecitizen.opendata import staff_views as views

staff_urlpatterns: list[URLPattern] = [
    path("opendata/", views.home, name="opendata"),
    path("opendata/new/", views.dataset_new, name="opendata_dataset_new"),
    path("opendata/tokens/", views.tokens, name="opendata_tokens"),
    path("opendata/tokens/new/", views.token_new, name="opendata_token_new"),
    path("opendata/tokens/<int:token_id>/", views.token_show, name="opendata_token"),
    path(
        "opendata/tokens/<int:token_id>/revoke/",
        views.token_revoke,
        name="opendata_token_revoke",
    ),
    path("opendata/datasets/<slug:name>/", views.dataset_detail, name="opendata_dataset"),
    path("opendata/datasets/<slug:name>/edit/", views.dataset_edit, name="opendata_dataset_edit"),
    path(
        "opendata/datasets/<slug:name>/publish/",
        views.dataset_publish,
        name="opendata_dataset_publish",
    ),
    path(
        "opendata/datasets/<slug:name>/withdraw/",
        views.dataset_withdraw,
        name="opendata_dataset_withdraw",
    ),
    path(
        "opendata/datasets/<slug:name>/files/new/",
        views.resource_new,
        name="opendata_resource_new",
    ),
    path(
        "opendata/datasets/<slug:name>/files/<uuid:resource_id>/",
        views.resource_detail,
        name="opendata_resource",
    ),
    path(
        "opendata/datasets/<slug:name>/files/<uuid:resource_id>/replace/",
        views.resource_replace,
        name="opendata_resource_replace",
    ),
    path(
        "opendata/datasets/<slug:name>/files/<uuid:resource_id>/fields/",
        views.resource_fields,
        name="opendata_resource_fields",
    ),
]
