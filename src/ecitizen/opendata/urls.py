"""Addresses of open data (namespace ``opendata``, mounted at the site's root): the
catalogue's pages (``public_urls``), downloads (``download_urls``), the CKAN Action API
(``ckan.urls``) and DCAT-AP (``dcat.urls``). Paths follow CKAN's (``/dataset/<name>``,
``/organization/<name>``, ``/api/3/action/<action>``) so that links made for CKAN work.
``staff_urlpatterns`` (the publishers' pages) are mounted under ``/staff/``."""

from ecitizen.opendata import download_urls, public_urls
from ecitizen.opendata.ckan import urls as ckan_urls
from ecitizen.opendata.dcat import urls as dcat_urls
from ecitizen.opendata.staff_urls import staff_urlpatterns

app_name = "opendata"

# DCAT first: /dataset/<name>.ttl must not be read as a dataset called "<name>.ttl".
urlpatterns = [
    *dcat_urls.urlpatterns,
    *ckan_urls.urlpatterns,
    *download_urls.urlpatterns,
    *public_urls.urlpatterns,
]

__all__ = ["staff_urlpatterns", "urlpatterns"]
