"""Riverton's services and parking fines on their own, without the rest of the demo: for
the tests (of other apps, and in ``tests/``) that need one of these parts.

The loaders themselves are the apps' (``cases/demo.py``, ``payments/demo.py``); these
functions give them Riverton as the city.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecitizen.cases.demo import demo_services_publish as _services_publish
from ecitizen.cases.demo import minimal_pdf, minimal_png
from ecitizen.demo.riverton import DEFINITIONS_DIR
from ecitizen.demo.services import riverton_context
from ecitizen.payments.demo import DEMO_FINE_POSTCODE, DEMO_FINE_REFERENCE, demo_fine_reference
from ecitizen.payments.demo import demo_fines_load as _fines_load

if TYPE_CHECKING:
    from ecitizen.catalogue.models import Service

# The names these tests import: the folder of Riverton's services, the fine that
# ``ecitizen demo`` prints, and stand-ins for a resident's documents.
__all__ = [
    "DEFINITIONS_DIR",
    "DEMO_FINE_POSTCODE",
    "DEMO_FINE_REFERENCE",
    "_minimal_pdf",
    "_minimal_png",
    "demo_fine_reference",
    "demo_fines_load",
    "demo_services_publish",
]
_minimal_pdf = minimal_pdf
_minimal_png = minimal_png


def demo_services_publish() -> list[Service]:
    """Publish Riverton's six services (each unchanged one publishes nothing) and return
    every published service. Precondition: Riverton's departments exist."""
    return _services_publish(directory=DEFINITIONS_DIR)


def demo_fines_load(*, seed: int) -> int:
    """Riverton's parking fines, unless they exist; returns how many were created.
    Precondition: the Transport & Licensing department exists."""
    return _fines_load(riverton_context(seed=seed))
