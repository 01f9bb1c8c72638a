"""Addresses of voting. ``urlpatterns`` (namespace ``voting``, under ``/voting/``): the
public election pages, the booth, a trustee's page. ``staff_urlpatterns`` (namespace
``staff``, under ``/staff/voting/``): the administrator's and the credential authority's
pages. Each view module lists its own addresses."""

from django.urls import URLPattern, URLResolver

from ecitizen.voting.views import booth, public, staff, trustee

app_name = "voting"

urlpatterns: list[URLPattern | URLResolver] = [*booth.urls, *trustee.urls, *public.urls]
staff_urlpatterns: list[URLPattern | URLResolver] = list(staff.staff_urls)
