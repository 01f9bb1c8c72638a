from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaxesConfig(AppConfig):
    name = "ecitizen.taxes"
    label = "taxes"
    verbose_name = _("Property tax")
