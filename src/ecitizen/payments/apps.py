from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "ecitizen.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from ecitizen.accounts.selectors import resident_links_register
        from ecitizen.payments.selectors import payer_ids_in_department

        resident_links_register(payer_ids_in_department)
