"""Settings for the benchmarks: ecitizen's own, with a URL map that adds the floor view."""

from ecitizen.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
