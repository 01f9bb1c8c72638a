"""The CKAN Action API's addresses (namespace ``opendata``): ``/api/3/action/<name>`` and
``/api/action/<name>``, and ``/api``, ``/api/<1..3>`` (the version). A trailing slash is
accepted rather than redirected: CKAN clients do not follow redirects of a POST.
Anonymous GETs may use the read replica (ecitizen.core.dbrouter); a POST, or a call with a
publisher's token, reads the primary."""

from django.urls import re_path

from ecitizen.core.dbrouter import replica_view
from ecitizen.opendata.ckan import views

urlpatterns = [
    re_path(
        r"^api/3/action/(?P<logic_function>[^/]+)/?$",
        replica_view(views.action_view),
        name="ckan_action",
    ),
    re_path(
        r"^api/action/(?P<logic_function>[^/]+)/?$",
        replica_view(views.action_view),
        name="ckan_action_unversioned",
    ),
    re_path(r"^api/?$", views.api_version, name="ckan_api"),
    re_path(r"^api/(?P<ver>[1-3])/?$", views.api_version, name="ckan_api_version"),
]
