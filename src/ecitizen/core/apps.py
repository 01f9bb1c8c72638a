from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "ecitizen.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        from django.core.checks import Tags, register

        from ecitizen.core import checks

        register(checks.payments_check, Tags.security, deploy=True)
        register(checks.documents_check, Tags.security, deploy=True)
        register(checks.sms_check, Tags.security, deploy=True)
