"""Blank forms written once (``core.forms.BlankWrittenOnce``): the same markup as the
form renders, kept only while it is blank, by prefix and language."""

from __future__ import annotations

import pytest
from django import forms
from django.utils import translation

from ecitizen.core import forms as core_forms
from ecitizen.core.forms import BlankWrittenOnce
from ecitizen.core.processcache import Kept


class _Note(BlankWrittenOnce):
    text = forms.CharField(label="Internal note", widget=forms.Textarea, max_length=20)


class _PlainNote(forms.Form):
    text = forms.CharField(label="Internal note", widget=forms.Textarea, max_length=20)


@pytest.fixture(autouse=True)
def _nothing_kept(monkeypatch):
    monkeypatch.setattr(core_forms, "_blank_forms", Kept())


def test_a_blank_form_is_written_as_the_form_renders_it_and_kept():
    first = str(_Note(prefix="note"))
    assert first == str(_PlainNote(prefix="note"))
    assert 'name="note-text"' in first
    assert str(_Note(prefix="note")) is first  # kept: not written again
    # Another prefix is another form.
    assert 'name="message-text"' in str(_Note(prefix="message"))


def test_a_bound_form_shows_what_was_typed_and_its_error_and_is_not_kept():
    blank = str(_Note(prefix="note"))  # the blank one kept
    bound = _Note({"note-text": "x" * 21}, prefix="note")
    written = str(bound)
    assert "x" * 21 in written
    assert "20 characters" in written
    assert written == str(_PlainNote({"note-text": "x" * 21}, prefix="note"))
    assert str(bound) is not written  # written again each time
    assert str(_Note(prefix="note")) is blank


def test_initial_values_are_rendered_not_kept():
    with_initial = _Note(prefix="note", initial={"text": "Called the applicant"})
    written = str(with_initial)
    assert "Called the applicant" in written
    assert str(with_initial) is not written  # written again each time
    assert "Called the applicant" not in str(_Note(prefix="note"))


def test_each_language_is_written_in_its_own_words():
    class _Translated(BlankWrittenOnce):
        text = forms.CharField(label=translation.gettext_lazy("Sort by"))

    english = str(_Translated())
    with translation.override("fr"):
        french = str(_Translated())
    with translation.override("ar"):  # whose label suffix is English's: only the language differs
        assert _Translated().label_suffix == ":"
        arabic = str(_Translated())
    assert "Sort by" in english
    assert "Trier par" in french
    assert "الترتيب حسب" in arabic
    assert str(_Translated()) == english
