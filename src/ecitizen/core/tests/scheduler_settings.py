"""The platform's settings plus the test-only probe app, whose periodic job the
schedulers started by ``test_scheduler_processes.py`` run
(``DJANGO_SETTINGS_MODULE=ecitizen.core.tests.scheduler_settings``)."""

from ecitizen.settings import *  # noqa: F403 - these are the platform's settings, extended
from ecitizen.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "ecitizen.core.tests.scheduler_probe"]
