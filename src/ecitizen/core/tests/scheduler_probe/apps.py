import os
from datetime import timedelta

from django.apps import AppConfig

from ecitizen.core.registry import PeriodicJob, registry

#: The probe's name in the registry and in ``ScheduledJob``.
PROBE_JOB = "test.scheduler_probe"


class SchedulerProbeConfig(AppConfig):
    name = "ecitizen.core.tests.scheduler_probe"
    label = "scheduler_probe"

    def ready(self) -> None:
        # The period comes from the test that starts the schedulers: a few seconds, so
        # that a test sees many periods.
        every = timedelta(seconds=float(os.environ["SCHEDULER_PROBE_SECONDS"]))
        registry.register_job(PeriodicJob(PROBE_JOB, ("scheduler_probe",), every))
