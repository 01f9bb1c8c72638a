"""Payment providers: one interface (:mod:`.base`), the built-in sandbox, Stripe."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from ecitizen.payments.providers.base import PaymentProvider


@cache
def _provider_class(path: str) -> type[PaymentProvider]:
    return import_string(path)  # type: ignore[no-any-return, unused-ignore]


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called ``name`` (default: ``PAYMENT_PROVIDER``) from
    ``PAYMENT_PROVIDERS`` (name → dotted class path)."""
    name = name or settings.PAYMENT_PROVIDER
    return _provider_class(settings.PAYMENT_PROVIDERS[name])()


#: The provider name of payments taken at the authority's own cash desk
#: (``payment_record_offline``): no provider class stands behind it.
COUNTER = "counter"


def provider_label(name: str) -> str:
    """What people read for a provider's name ("Stripe", "Cash desk"): the ``label`` of
    its class, in the active language. A name that is no longer configured (payments
    made through a provider since removed) is shown as it is."""
    if name == COUNTER:
        return _("Cash desk")
    path = settings.PAYMENT_PROVIDERS.get(name)
    if path is None:
        return name
    return str(getattr(_provider_class(path), "label", name))
