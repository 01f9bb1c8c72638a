from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The public REST API (``/api/v1/``), OAuth2 for integrators and webhooks.

    The API's operations come from the apps: each registers its router (its ``api.py``)
    with the registry; this app builds one versioned django-ninja API from them and
    provides what every operation shares (authentication by OAuth2 token, problem
    details, cursor pages, idempotency, rate limits)."""

    name = "ecitizen.api"
    label = "api"
    verbose_name = _("API and integrations")
