"""The message templates: every event, every language, safe placeholders, SMS length."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from ecitizen.core.registry import registry
from ecitizen.notifications import templating
from ecitizen.notifications.selectors import (
    notification_event_channels,
    notification_event_exists,
    notification_event_placeholders,
    notification_events,
)
from ecitizen.notifications.templating import (
    SMS_MAX_LENGTH,
    SafeFormatter,
    TemplateError,
    event_specs,
    load_texts,
    placeholders_in,
    render_event,
    render_text,
)

#: Every event whose templates an app ships (a folder with ``event.yaml`` in a message
#: folder it registered): a new app's events are checked here without an edit.
SHIPPED_EVENTS = {
    folder.name
    for directory in registry.message_dirs
    for folder in directory.iterdir()
    if (folder / "event.yaml").is_file()
}

#: The documented placeholders of each event (besides name and url, which all have).
#: The placeholders of the platform's first events, as the docs describe them (an app's
#: own events are documented in their ``event.yaml``).
DOCUMENTED = {
    "case_submitted": {"reference", "service", "expected_decision"},
    "case_status_changed": {"reference", "service", "status"},
    "case_information_requested": {"reference", "service", "message"},
    "case_approved": {"reference", "service"},
    "case_refused": {"reference", "service", "reason"},
    "case_withdrawn": {"reference", "service"},
    "case_message": {"reference", "service"},
    "document_issued": {"reference", "title"},
    "document_revoked": {"reference", "title", "reason", "verify_url"},
    "draft_expiring": {"service", "expires_on"},
    "case_escalated": {"reference", "service", "due_date", "state"},
    "records_published": {"reference", "service"},
    "payment_received": {"reference", "amount"},
    "payment_refunded": {"reference", "amount", "reason"},
    "tax_instalment_due": {"reference", "address", "amount", "due_date"},
    "tax_instalment_overdue": {"reference", "address", "amount", "due_date"},
    "assist_consent_code": {"code", "helper", "service", "minutes"},
}

#: Long but realistic values: what a text message must still fit with.
SAMPLE_VALUES = {
    "name": "Alexandra Montgomery-Fitzgerald",
    "reference": "RIVER-PLAN-2026-000123",
    "service": "Apply for a licence to place a skip or scaffolding on the road",
    # The longest sentence cases.expected writes (a fee to pay first).
    "expected_decision": "Pay the fee so that we can start working on your application. "
    "We expect to make a decision within 15 working days of your payment.",
    "expires_on": "30 September 2026",
    "due_date": "30 September 2026",
    "amount": "£1,234.56",
    "address": "Flat 12, 145 Lock Keeper's Walk, Riverton RV4 7QX",
    "status": "Waiting for your information",
    "state": "Waiting for a decision",
    "title": "Street trading licence for a market stall",
    "message": "Please upload a recent photograph of the site and a plan. " * 10,
    "reason": "The site is within a conservation area and the plan does not fit. " * 10,
    "code": "042917",
    "helper": "Riverton Central Library — Assisted-digital helper",
    "minutes": "15",
    "url": "https://services.riverton.example/cases/RIVER-PLAN-2026-000123/",
    "verify_url": "https://services.riverton.example/verify/7c9e6679-7425-40de-944b-e07fc1f90ae7/",
    "category": "Overgrown trees, hedges and weeds",
    "hours": "72",
    "confirm_url": "https://services.riverton.example/reports/confirm/"
    "Xq3v9Jk2LmN8pR5tW7yZ1aB4cD6eF0gH2iJ4kL6mN8o/",
    "update": "The team wrote: “" + "Repaired by our crew on the night shift. " * 6 + "”",
}
#: What a placeholder no sample above names is filled with: as long as a long title.
GENERIC_SAMPLE = "A value as long as the longest title of a service or a ward"
LANGUAGES = [code for code, _name in settings.LANGUAGES]
ARABIC = re.compile(r"[\u0600-\u06FF]")


def test_the_catalogue_lists_every_shipped_event():
    assert set(notification_events()) == SHIPPED_EVENTS
    assert notification_events() == sorted(notification_events())
    assert notification_event_exists("case_submitted")
    assert not notification_event_exists("case_exploded")
    assert notification_event_channels("case_escalated") == ("email", "inbox")


@pytest.mark.parametrize("event", sorted(DOCUMENTED))
def test_each_event_documents_its_placeholders(event):
    assert notification_event_placeholders(event) == DOCUMENTED[event] | {"name", "url"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", sorted(SHIPPED_EVENTS))
def test_every_template_renders_in_every_language_within_sms_length(event, language):
    spec = event_specs()[event]
    assert language in spec.languages, f"{event} has no {language}.yaml"
    texts = load_texts(event, language)  # raises on any undeclared placeholder
    assert texts["language"] == language
    values = {name: SAMPLE_VALUES.get(name, GENERIC_SAMPLE) for name in spec.placeholders}
    for key in templating.TEXT_KEYS:
        assert placeholders_in(texts[key]) <= spec.placeholders
        rendered = render_text(texts[key], values)
        assert "{" not in rendered
        assert "}" not in rendered
    sms = " ".join(render_text(texts["sms"], values).split())
    assert len(sms) <= SMS_MAX_LENGTH, f"{event}/{language}: {len(sms)} characters"
    # A text message must not carry an officer's free text: it could be any length.
    assert not placeholders_in(texts["sms"]) & {"message", "reason"}
    # A link is in every text message and every email (``url``, or a ``*_url`` that
    # carries a secret and so stays out of the notification's clear ``url`` column).
    for key in ("sms", "email"):
        assert {name for name in placeholders_in(texts[key]) if name.endswith("url")}, key
    assert "name" in placeholders_in(texts["email"])
    message = render_event(event, language, values)
    assert message.language == language
    assert message.sms == sms
    assert "\n" not in message.subject


@pytest.mark.parametrize("event", sorted(SHIPPED_EVENTS))
def test_french_and_arabic_are_real_translations(event):
    english, french, arabic = (load_texts(event, code) for code in ("en", "fr", "ar"))
    for key in templating.TEXT_KEYS:
        assert french[key] != english[key]
        assert arabic[key] != english[key]
        # Apart from placeholder names (and "QR"), the Arabic texts are in Arabic script.
        text = re.sub(r"\{[a-z_]+\}", "", arabic[key]).replace("QR", "")
        letters = [c for c in text if c.isalpha()]
        assert letters
        assert all(ARABIC.match(c) for c in letters), f"{event}/ar {key} is not all Arabic"
    assert "Bonjour" in french["email"]
    assert "مرحبًا" in arabic["email"]


def test_a_missing_language_falls_back_to_english(settings):
    settings.LANGUAGES = [*settings.LANGUAGES, ("de", "Deutsch")]
    event_specs.cache_clear()
    load_texts.cache_clear()
    try:
        texts = load_texts("case_approved", "de")
        assert texts["language"] == "en"
        assert texts["subject"] == load_texts("case_approved", "en")["subject"]
    finally:
        event_specs.cache_clear()
        load_texts.cache_clear()


@pytest.mark.parametrize(
    "text",
    [
        "{name.__class__}",
        "{name[0]}",
        "{name!r}",
        "{name:>40}",
        "{0}",
        "{}",
        "{unknown}",
        "{name",
    ],
)
def test_the_formatter_inserts_plain_names_only(text):
    with pytest.raises(TemplateError):
        render_text(text, {"name": "Alex"})


def test_the_formatter_keeps_doubled_braces_and_inserts_values_as_text():
    assert render_text("{{literal}} {name}", {"name": "{reference}"}) == "{literal} {reference}"
    assert isinstance(SafeFormatter(), SafeFormatter)


def test_an_undeclared_placeholder_in_a_file_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "sample_event"
    folder.mkdir()
    (folder / "event.yaml").write_text(
        "description: test\nplaceholders: [name, url]\nchannels: [inbox]\n", encoding="utf-8"
    )
    (folder / "en.yaml").write_text(
        "subject: Hi {name}\nemail: Hi {name} {url}\nsms: Hi {url}\ninbox: Hi {password}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(templating, "message_dirs", lambda: [tmp_path])
    event_specs.cache_clear()
    load_texts.cache_clear()
    try:
        assert list(event_specs()) == ["sample_event"]
        with pytest.raises(TemplateError, match="undeclared placeholders: password"):
            load_texts("sample_event", "en")
    finally:
        event_specs.cache_clear()
        load_texts.cache_clear()


def test_a_too_long_text_message_is_cut():
    values = dict(SAMPLE_VALUES, service="x" * 400)
    message = render_event("case_approved", "en", values)
    assert len(message.sms) == SMS_MAX_LENGTH
    assert message.sms.endswith("…")
