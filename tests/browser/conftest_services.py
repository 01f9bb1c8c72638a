"""Fixtures of the service journeys (imported by ``test_service_journeys.py``): Riverton's
departments and six services published, a signing key for the issued documents, a
temporary media folder, and a second browser for the official."""

from __future__ import annotations

import shutil

import pytest

from ecitizen.accounts.services import department_ensure
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.demo.cases import DEFINITIONS_DIR
from ecitizen.demo.riverton import DEPARTMENTS, EMAIL_DOMAIN
from ecitizen.documents.tests.signing_fixtures import (  # noqa: F401 - fixtures
    media_storage,
    signing_certificate,
)
from tests.browser.conftest import ARTIFACTS
from tests.browser.services_support import open_page


@pytest.fixture
def riverton(db, tmp_path, signing_certificate, media_storage):  # noqa: F811 - fixtures
    """Riverton's six departments; documents signed with a throwaway key and stored in a
    temporary folder. Returns ``publish(slug) -> Service``, which publishes that one of
    the demo's definitions (``src/ecitizen/demo/definitions/<slug>.yaml``) as
    ``ecitizen.demo.cases.demo_services_publish`` does for all six (one, to save a
    second per test)."""
    for slug, name in DEPARTMENTS:
        department_ensure(slug=slug, name=name, email=f"{slug}@{EMAIL_DOMAIN}", actor=None)

    def publish(slug: str) -> Service:
        folder = tmp_path / f"definitions-{slug}"
        folder.mkdir()
        shutil.copy(DEFINITIONS_DIR / f"{slug}.yaml", folder)
        service_definitions_publish(directory=folder, actor=None)
        return Service.objects.get(slug=slug, current_version__isnull=False)

    return publish


@pytest.fixture
def official_page(browser, live_server, request):
    """The official's own browser (JavaScript on), beside the resident's ``page``: the
    same axe ledger and console-error checks at teardown as the ``page`` fixture."""
    handles = open_page(browser, live_server.url)
    yield handles.page
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else False
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        handles.page.screenshot(
            path=str(ARTIFACTS / f"{request.node.name}-official.png"), full_page=True
        )
    handles.page.context.close()
    if not failed:
        unchecked = handles.ledger.unchecked()
        assert not unchecked, f"official's pages visited without an axe check: {unchecked}"
        assert not handles.console_errors, (
            f"errors in the official's browser console: {handles.console_errors}"
        )
