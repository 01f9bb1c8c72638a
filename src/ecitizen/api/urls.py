"""URLs of OAuth2 for integrators: the resident's connected apps (``urlpatterns``,
mounted at ``account/apps/``, namespace ``integrations``), the OAuth2 endpoints
(``oauth_urlpatterns``, at ``oauth/``, namespace ``oauth2_provider`` as the toolkit names
them) and the platform administrator's client pages (``staff_urlpatterns``)."""

from __future__ import annotations

from django.urls import path

from ecitizen.api import views

app_name = "integrations"

urlpatterns = [
    path("", views.connected_apps, name="connected_apps"),
    path("<int:consent_id>/revoke/", views.connected_app_revoke, name="connected_app_revoke"),
]

oauth_urlpatterns = [
    path("authorize/", views.authorize, name="authorize"),
    path("token/", views.token, name="token"),
    path("revoke_token/", views.revoke_token, name="revoke-token"),
    path("introspect/", views.introspect, name="introspect"),
]

staff_urlpatterns = [
    path("api-clients/", views.client_list, name="api_clients"),
    path("api-clients/new/", views.client_new, name="api_client_new"),
    path("api-clients/<int:client_pk>/", views.client_detail, name="api_client"),
    path("api-clients/<int:client_pk>/rotate/", views.client_rotate, name="api_client_rotate"),
    path("api-clients/<int:client_pk>/toggle/", views.client_toggle, name="api_client_toggle"),
]
