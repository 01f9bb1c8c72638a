"""Load the Riverton demo authority, reproducibly from a seed, without duplicates.

Each app registers its part of the demo from its ``AppConfig.ready()`` (a
:class:`~ecitizen.core.registry.DemoLoader`); this app describes the city and runs them.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction

from ecitizen.core.registry import DemoContext, registry
from ecitizen.demo.riverton import riverton_city

logger = logging.getLogger(__name__)


def riverton_context(*, seed: int) -> DemoContext:
    """A context for the demo loaders, with Riverton as the city."""
    return DemoContext(seed=seed, city=riverton_city(seed=seed))


@transaction.atomic
def demo_load(*, seed: int = 2026) -> DemoContext:
    """Load Riverton: every registered demo loader (``core.registry``) in dependency
    order, each idempotent, in one transaction. Returns the context they filled: the
    accounts to print (``accounts``) and what to say after them (``notes``)."""
    context = riverton_context(seed=seed)
    for loader in registry.demo_loaders_in_order():
        started = time.monotonic()
        loader.load(context)
        # The demo takes minutes: the log says where they went.
        logger.info("demo loader %s: %.1f s", loader.name, time.monotonic() - started)
    return context
