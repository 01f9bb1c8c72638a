from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Residents' data rights: download everything the platform holds about them, ask
    for erasure (decided by the data-protection officer), retention applied by rule, and
    the records of processing. Every app describes its personal data to the registry;
    this app reads them back, so it names no app."""

    name = "ecitizen.privacy"
    label = "privacy"
    verbose_name = _("Data protection")
