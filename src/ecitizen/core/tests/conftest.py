"""Fixtures of the core's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_queue(settings):
    """Tasks queued in the database, as in production, for ``ecitizen worker`` to run in
    the test process; emails delivered to ``mail.outbox``."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"  # the settings fixture resets django-tasks' backends
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
