from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "ecitizen.cases"
    label = "cases"
    verbose_name = _("Applications and cases")

    def ready(self) -> None:
        from ecitizen.accounts.selectors import resident_links_register
        from ecitizen.cases.selectors import applicant_ids_in_department
        from ecitizen.cases.services import case_fee_paid_listener
        from ecitizen.payments.services import on_bill_paid

        on_bill_paid(case_fee_paid_listener)
        resident_links_register(applicant_ids_in_department)
