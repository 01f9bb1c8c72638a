"""A year's configuration: read from YAML, checked, loaded once, frozen once billed."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from ecitizen.core.models import AuditEvent
from ecitizen.taxes import services
from ecitizen.taxes.config import CONFIG_DIR, TaxConfigError, year_config_parse
from ecitizen.taxes.models import InstalmentPlan, Relief, TaxRate, TaxYear
from ecitizen.taxes.selectors import year_rules


def _data(year: int = 2026) -> dict:
    return yaml.safe_load((CONFIG_DIR / f"{year}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_shipped_configurations_are_valid(year):
    config = year_config_parse(_data(year))
    assert config.year == year
    assert len(config.instalments) == 4
    assert config.instalments[0].year == year


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rates"].pop("charity"), "rates must give exactly these use classes"),
        (lambda d: d["rates"].update(residential="lots"), "rates.residential must be a number"),
        (lambda d: d["rates"].update(residential="1.5"), "must be less than 1"),
        (lambda d: d["reliefs"][0].update(percent="120"), "at most 100"),
        (lambda d: d["reliefs"][0].update(kind="friends"), "reliefs[0].kind must be one of"),
        (lambda d: d["reliefs"].append(dict(d["reliefs"][0])), "repeats the relief"),
        (lambda d: d["reliefs"][1].update(use_classes=["castle"]), "use_classes must list"),
        (lambda d: d["reliefs"][2].update(max_value="10.001"), "more than 2 decimal places"),
        (lambda d: d["instalments"].reverse(), "instalments must be in order"),
        (lambda d: d.update(instalments=[]), "instalments must list 1 to 12"),
        (lambda d: d.update(rate="0.01"), "Unknown keys: rate"),
        (lambda d: d.update(ends_on="2026-01-01"), "ends_on must be after starts_on"),
    ],
)
def test_a_malformed_configuration_is_refused_with_a_clear_message(change, message):
    data = _data()
    change(data)
    with pytest.raises(TaxConfigError) as caught:
        year_config_parse(data)
    assert message in str(caught.value)


def test_loading_stores_the_year_and_loading_it_again_changes_nothing(department):
    out = StringIO()
    call_command("tax", "config", "load", str(CONFIG_DIR / "2026.yaml"), stdout=out)
    assert "2026: configuration loaded" in out.getvalue()
    tax_year = TaxYear.objects.get(year=2026)
    assert TaxRate.objects.get(tax_year=tax_year, use_class="residential").rate == "0.0062"
    assert Relief.objects.get(tax_year=tax_year, kind="charity").percent == "100"
    assert InstalmentPlan.objects.get(tax_year=tax_year).due_dates[0] == "2026-04-30"
    rules = year_rules(tax_year=tax_year)
    assert rules.reliefs[0].kind == "charity"  # the most generous first
    events = AuditEvent.objects.count()

    out = StringIO()
    call_command("tax", "config", "load", str(CONFIG_DIR / "2026.yaml"), stdout=out)
    assert "2026: configuration unchanged" in out.getvalue()
    assert AuditEvent.objects.count() == events
    assert TaxRate.objects.filter(tax_year__year=2026).count() == 5


def test_an_unknown_department_or_file_is_a_command_error(db, tmp_path):
    with pytest.raises(CommandError, match="department 'revenue' does not exist"):
        call_command("tax", "config", "load", str(CONFIG_DIR / "2026.yaml"))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("tax", "config", "load", str(tmp_path / "missing.yaml"))
    broken = tmp_path / "2030.yaml"
    broken.write_text("year: [", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid YAML"):
        call_command("tax", "config", "load", str(broken))


def test_a_changed_configuration_replaces_the_year_until_bills_are_issued(
    year_2026, wards, tmp_path
):
    from ecitizen.taxes.tests.support import make_property, owner

    data = _data()
    data["rates"]["residential"] = "0.0070"
    changed = tmp_path / "2026.yaml"
    changed.write_text(yaml.safe_dump(data), encoding="utf-8")
    tax_year, was_changed = services.tax_config_load(path=changed, actor=None)
    assert was_changed
    assert tax_year.rates.get(use_class="residential").rate == "0.007"

    make_property("RV000001", wards[0], owners=[owner()])
    services.tax_assess(year=2026, actor=None)
    data["rates"]["residential"] = "0.0080"
    changed.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(services.YearAssessed):
        services.tax_config_load(path=changed, actor=None)
    assert TaxYear.objects.get(year=2026).rates.get(use_class="residential").rate == "0.007"
