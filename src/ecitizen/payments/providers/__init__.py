"""Payment providers: one interface (:mod:`.base`), the built-in sandbox, Stripe."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from ecitizen.payments.providers.base import PaymentProvider


@cache
def _provider_class(path: str) -> type[PaymentProvider]:
    return import_string(path)  # type: ignore[no-any-return, unused-ignore]


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called ``name`` (default: ``PAYMENT_PROVIDER``) from
    ``PAYMENT_PROVIDERS`` (name → dotted class path)."""
    name = name or settings.PAYMENT_PROVIDER
    return _provider_class(settings.PAYMENT_PROVIDERS[name])()
