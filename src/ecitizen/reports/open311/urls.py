"""Open311 GeoReport v2 (``/open311/v2/``, namespace ``open311``): each resource in
``.xml`` and ``.json`` (docs/open311.md).

The lists anyone reads may use the read replica (ecitizen.core.dbrouter); a POST reads the
primary. One request and a POST's token are looked up by the app that just made them, and
apps seldom keep the cookie that keeps a writer on the primary: those read the primary."""

from django.urls import re_path

from ecitizen.core.dbrouter import replica_view
from ecitizen.reports.open311 import views

app_name = "open311"

_FORMAT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(r"^discovery" + _FORMAT, replica_view(views.discovery), name="discovery"),
    re_path(r"^services" + _FORMAT, replica_view(views.service_list), name="services"),
    re_path(
        r"^services/(?P<code>[^/]+?)" + _FORMAT,
        replica_view(views.service_definition),
        name="service",
    ),
    re_path(r"^requests" + _FORMAT, replica_view(views.service_requests), name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]+?)" + _FORMAT, views.service_request, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + _FORMAT, views.token, name="token"),
    re_path(
        r"^servicerequestupdates" + _FORMAT, replica_view(views.request_updates), name="updates"
    ),
]
