"""Addresses of erasure. ``urlpatterns`` go under ``/privacy/`` in the ``privacy``
namespace (included by ``privacy/urls.py``); ``staff_urlpatterns`` under
``/staff/privacy/`` in the ``staff`` namespace (mounted by the root ``urls.py``)."""

from django.urls import URLPattern, URLResolver, path

from ecitizen.privacy import erasure_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("close-account/", erasure_views.erasure_status, name="erasure_status"),
    path("close-account/withdraw/", erasure_views.erasure_withdraw, name="erasure_withdraw"),
    path(
        "close-account/statement/<str:token>/",
        erasure_views.erasure_statement,
        name="erasure_statement",
    ),
]

staff_urlpatterns: list[URLPattern | URLResolver] = [
    path("erasure/", erasure_views.erasure_queue, name="privacy_erasure_queue"),
    path(
        "erasure/<str:reference>/",
        erasure_views.erasure_detail,
        name="privacy_erasure_detail",
    ),
]
