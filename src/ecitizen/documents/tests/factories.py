"""Issuing documents in tests, through the service as the platform does."""

from __future__ import annotations

from ecitizen.documents.services import document_issue

PRINTED = [
    ("Property address", "12 Mill Lane, Riverton RV1 2AB"),
    ("Work permitted", "Single-storey rear extension"),
]


def issue(owner, *, reference="RIV-BP-2026-000123", template="permit", **overrides):
    values = {
        "owner": owner,
        "template": template,
        "title": "Building permit",
        "reference": reference,
        "holder_name": "Alex Morgan",
        "printed": PRINTED,
        "valid_for_days": 365,
        "language": "en",
        "actor": None,
    }
    values.update(overrides)
    return document_issue(**values)
