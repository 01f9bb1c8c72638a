"""Message templates: files in the repository, one folder per event, one file per language.

Layout::

    <app>/messages/<event>/event.yaml   # placeholders and default channels
    <app>/messages/<event>/<lang>.yaml  # subject, email, sms, inbox texts

``event.yaml`` holds ``description`` (for developers), ``placeholders`` (every name its
texts may use; ``name`` and ``url`` are part of every event) and ``channels`` (the default
channels when the caller does not give them: a subset of ``email``, ``sms``, ``inbox``).

A language file holds four texts: ``subject``, ``email`` (the plain-text email body),
``sms`` (at most :data:`SMS_MAX_LENGTH` characters once rendered) and ``inbox`` (the short
text shown in the resident's inbox). Placeholders are written ``{reference}``; a literal
brace is doubled (``{{``). English is required; a missing language falls back to it.

Rendering uses :class:`SafeFormatter`: a placeholder is a bare name, never an attribute or
an index (``{user.password}`` and ``{items[0]}`` are refused), and takes no conversion or
format spec. The output is plain text: nothing is escaped here, and the pages that show it
escape it (the inbox) or send it as text (email, SMS).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
CHANNELS = ("email", "sms", "inbox")
TEXT_KEYS = ("subject", "email", "sms", "inbox")
#: Placeholders every event has: the recipient's name (filled in by the service) and the
#: absolute address of the page the message is about.
COMMON_PLACEHOLDERS = frozenset({"name", "url"})
#: Longest text message once rendered (two concatenated SMS of 160 GSM characters).
SMS_MAX_LENGTH = 320
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class TemplateError(Exception):
    """A message template file is missing, malformed or uses a placeholder it may not."""

    code = "notification_template_invalid"


@dataclass(frozen=True)
class EventSpec:
    """One event's template set: its placeholders, default channels and languages."""

    event: str
    description: str
    placeholders: frozenset[str]
    channels: tuple[str, ...]
    languages: frozenset[str]
    folder: Path


def message_dirs() -> list[Path]:
    """Where template sets are: this app's own folder and those the other apps ship next
    to their code and register (``registry.register_message_dir``)."""
    from ecitizen.core.registry import registry

    return [MESSAGES_DIR, *(path for path in registry.message_dirs if path != MESSAGES_DIR)]


@dataclass(frozen=True)
class RenderedMessage:
    """The four texts of one event in one language, placeholders filled in."""

    language: str
    subject: str
    email: str
    sms: str
    inbox: str


class SafeFormatter(string.Formatter):
    """``str.format`` limited to bare placeholder names.

    Refuses attribute access (``{a.b}``), indexing (``{a[0]}``), conversions (``{a!r}``)
    and format specs (``{a:>10}``), so a template can only insert the values it is given,
    as text. Unknown names raise :class:`TemplateError`.
    """

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not _IDENTIFIER.match(field_name):
            raise TemplateError(f"placeholder {{{field_name}}} is not a plain name")
        if field_name not in kwargs:
            raise TemplateError(f"unknown placeholder {{{field_name}}}")
        return kwargs[field_name], field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            raise TemplateError("placeholders take no conversion (!r, !s, !a)")
        return value

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec:
            raise TemplateError("placeholders take no format specification")
        return str(value)


_formatter = SafeFormatter()


def placeholders_in(text: str) -> set[str]:
    """The placeholder names a template text uses (raises on a malformed one)."""
    names = set()
    try:
        parsed = list(_formatter.parse(text))
    except ValueError as exc:
        raise TemplateError(f"malformed placeholder: {exc}") from exc
    for _literal, field_name, format_spec, conversion in parsed:
        if field_name is None:
            continue
        if not _IDENTIFIER.match(field_name) or format_spec or conversion:
            raise TemplateError(f"placeholder {{{field_name}}} must be a plain name")
        names.add(field_name)
    return names


def render_text(text: str, values: Mapping[str, Any]) -> str:
    """Fill ``text``'s placeholders from ``values`` with :class:`SafeFormatter`."""
    try:
        return _formatter.vformat(text, (), values)
    except ValueError as exc:
        raise TemplateError(f"malformed placeholder: {exc}") from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}: cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: must be a mapping")
    return data


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@functools.cache
def event_specs() -> dict[str, EventSpec]:
    """Every event with a template set, read once per process from :func:`message_dirs`.

    A folder counts as an event when it has ``event.yaml`` and ``en.yaml``. Raises
    :class:`TemplateError` for a malformed ``event.yaml`` or an event that two apps ship.
    """
    specs: dict[str, EventSpec] = {}
    folders = [f for root in message_dirs() if root.is_dir() for f in sorted(root.iterdir())]
    for folder in folders:
        meta_path = folder / "event.yaml"
        if not folder.is_dir() or not meta_path.is_file() or not (folder / "en.yaml").is_file():
            continue
        if not _IDENTIFIER.match(folder.name):
            raise TemplateError(f"{folder}: event names are lower-case identifiers")
        if folder.name in specs:
            raise TemplateError(
                f"{folder}: the event {folder.name} is also defined in {specs[folder.name].folder}"
            )
        meta = _read_yaml(meta_path)
        placeholders = meta.get("placeholders")
        channels = meta.get("channels")
        if not isinstance(placeholders, list) or not all(
            isinstance(p, str) and _IDENTIFIER.match(p) for p in placeholders
        ):
            raise TemplateError(f"{meta_path}: placeholders must be a list of names")
        if not set(placeholders) >= COMMON_PLACEHOLDERS:
            raise TemplateError(f"{meta_path}: placeholders must include name and url")
        if (
            not isinstance(channels, list)
            or not channels
            or not set(channels) <= set(CHANNELS)
            or len(set(channels)) != len(channels)
        ):
            raise TemplateError(f"{meta_path}: channels must list some of {', '.join(CHANNELS)}")
        languages = frozenset(code for code in _languages() if (folder / f"{code}.yaml").is_file())
        specs[folder.name] = EventSpec(
            event=folder.name,
            description=str(meta.get("description", "")),
            placeholders=frozenset(placeholders),
            channels=tuple(channels),
            languages=languages,
            folder=folder,
        )
    return dict(sorted(specs.items()))


@functools.cache
def load_texts(event: str, language: str) -> dict[str, str]:
    """The four raw texts of ``event`` in ``language`` (English when that file is missing).

    Raises ``KeyError`` for an unknown event and :class:`TemplateError` for a malformed
    file or one using a placeholder its event does not declare.
    """
    spec = event_specs()[event]
    if language not in spec.languages:
        language = "en"
    path = spec.folder / f"{language}.yaml"
    data = _read_yaml(path)
    texts: dict[str, str] = {}
    for key in TEXT_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise TemplateError(f"{path}: {key} is missing or empty")
        unknown = placeholders_in(value) - spec.placeholders
        if unknown:
            raise TemplateError(
                f"{path}: {key} uses undeclared placeholders: {', '.join(sorted(unknown))}"
            )
        texts[key] = value.strip() if key != "email" else value.rstrip() + "\n"
    extra = set(data) - set(TEXT_KEYS)
    if extra:
        raise TemplateError(f"{path}: unexpected keys: {', '.join(sorted(extra))}")
    texts["language"] = language
    return texts


def render_event(event: str, language: str, values: Mapping[str, Any]) -> RenderedMessage:
    """All four texts of ``event`` in ``language`` (or English), filled from ``values``.

    The subject and SMS are single lines (whitespace runs become one space). An SMS longer
    than :data:`SMS_MAX_LENGTH` is cut with an ellipsis; the template test keeps every
    shipped template well under the limit for realistic values.
    """
    texts = load_texts(event, language)

    def line(text: str) -> str:
        return " ".join(render_text(text, values).split())

    sms = line(texts["sms"])
    if len(sms) > SMS_MAX_LENGTH:
        sms = sms[: SMS_MAX_LENGTH - 1].rstrip() + "…"
    return RenderedMessage(
        language=texts["language"],
        subject=line(texts["subject"]),
        email=render_text(texts["email"], values),
        sms=sms,
        inbox=render_text(texts["inbox"], values).strip(),
    )
