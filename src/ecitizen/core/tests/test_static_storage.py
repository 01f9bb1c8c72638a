"""The static files' storages keep each file's address: the same as the storage they
extend gives, worked out once, forgotten with a change of settings."""

from __future__ import annotations

import json

import pytest
from django.contrib.staticfiles.storage import StaticFilesStorage
from django.test import override_settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

from ecitizen.core.static_storage import KeptManifestStaticFilesStorage, KeptStaticFilesStorage


def _counted(monkeypatch, parent) -> list[str]:
    asked: list[str] = []
    original = parent.url

    def url(self, name, *args, **kwargs):
        asked.append(name)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(parent, "url", url)
    return asked


def test_the_plain_storage_gives_each_address_once(monkeypatch, settings, tmp_path):
    settings.STATIC_ROOT = str(tmp_path)
    settings.STATIC_URL = "/static/"
    kept, plain = KeptStaticFilesStorage(), StaticFilesStorage()
    expected = plain.url("ecitizen/build/main.css")
    asked = _counted(monkeypatch, StaticFilesStorage)
    assert kept.url("ecitizen/build/main.css") == expected == "/static/ecitizen/build/main.css"
    assert kept.url("ecitizen/build/main.css") == expected
    assert kept.url("ecitizen/brand/favicon.svg") == "/static/ecitizen/brand/favicon.svg"
    assert asked == ["ecitizen/build/main.css", "ecitizen/brand/favicon.svg"]
    with override_settings(STATIC_URL="/assets/"):
        assert kept.url("ecitizen/brand/favicon.svg").endswith("ecitizen/brand/favicon.svg")
    assert asked.count("ecitizen/brand/favicon.svg") == 2  # asked again after the change


def test_the_manifest_storage_gives_the_hashed_address_and_refuses_unknown_files(
    monkeypatch, settings, tmp_path
):
    settings.STATIC_ROOT = str(tmp_path)
    settings.STATIC_URL = "/static/"
    settings.DEBUG = False
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"app.css": "app.0123abcd.css"}, "hash": "x"})
    )
    kept = KeptManifestStaticFilesStorage()
    expected = CompressedManifestStaticFilesStorage().url("app.css")
    asked = _counted(monkeypatch, CompressedManifestStaticFilesStorage)
    assert kept.url("app.css") == kept.url("app.css") == expected == "/static/app.0123abcd.css"
    assert asked == ["app.css"]
    for _ in range(2):  # a file the manifest lacks is refused every time
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            kept.url("missing.css")
