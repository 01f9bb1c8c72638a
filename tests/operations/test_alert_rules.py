"""The shipped Prometheus files hold: Prometheus' own ``promtool`` checks the rules and the
configuration and runs the rules' unit tests, and every ecitizen metric the rules name is
one that ``/metrics`` really shows (a renamed metric would leave an alert silent)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="needs Debian's prometheus (promtool)")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROMTOOL), *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )


@needs_promtool
def test_promtool_accepts_the_rules_and_the_configuration():
    rules = _promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = _promtool("check", "config", "--syntax-only", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_the_rules_unit_tests_pass():
    result = _promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_every_metric_an_alert_names_is_shown_by_the_platform(client):
    response = client.get(reverse("core:metrics"))
    assert response.status_code == 200
    shown = set()
    for family in text_string_to_metric_families(response.text):
        shown.update(sample.name for sample in family.samples)
        shown.add(family.name)
    # Gauges are named as shown; counters and histograms by their family (listed even
    # before anything was counted), the rules adding _total or _bucket.
    rules = (PROMETHEUS / "alerts.yml").read_text()
    named = set(re.findall(r"\b(ecitizen_[a-z_]+)", rules))
    named_counted = {name for name in named if name.endswith(("_total", "_bucket"))}
    families = {name.removesuffix("_total").removesuffix("_bucket") for name in named_counted}
    assert named - named_counted <= shown, sorted((named - named_counted) - shown)
    listed = {family.name for family in text_string_to_metric_families(response.text)}
    assert families <= listed, sorted(families - listed)
