"""A test-only app for ``test_scheduler_processes.py``: it registers one periodic job, the
probe, the way every app registers its jobs, so that real ``ecitizen scheduler``
processes run it. Installed only by ``ecitizen.core.tests.scheduler_settings``."""
