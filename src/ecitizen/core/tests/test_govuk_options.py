"""Inputs, options and selects written in Python by the form renderer are the markup
Django's own widget templates write: same attributes, order, escaping and whitespace."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting

from ecitizen.core.forms import GovukFormRenderer
from ecitizen.core.templatetags.govuk import govuk_option

ODD = 'say "hi" & <go>'


class _Everything(forms.Form):
    name = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(required=False)
    count = forms.IntegerField()
    secret = forms.CharField(widget=forms.PasswordInput)
    agree = forms.BooleanField(required=False)
    when = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    token = forms.CharField(widget=forms.HiddenInput)
    upload = forms.FileField(required=False)
    colour = forms.ChoiceField(
        choices=[("red", "Red"), (ODD, "Odd & <b>"), ("", "None")],
        widget=forms.RadioSelect(attrs={"data-x": "1"}),
    )
    sizes = forms.MultipleChoiceField(
        choices=[(1, "One"), (2, "Two"), (3, "Three")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    month = forms.ChoiceField(
        choices=[("", "Choose"), ("Spring", [("3", "March"), ("4", "April")]), (ODD, ODD)]
    )
    many = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "spellcheck": True}))


BOUND = [
    {},
    {
        "name": ODD,
        "email": "a@example.org",
        "count": "0",
        "secret": "x",
        "agree": "on",
        "when": "2026-12-04",
        "token": ODD,
        "colour": ODD,
        "sizes": ["1", "3"],
        "month": "4",
        "many": ["a", "b"],
        "message": "\n" + ODD + "\n\nsecond paragraph",
    },
    {"message": "0"},
]


def _forms(data: dict) -> tuple[forms.Form, forms.Form]:
    """The same bound form twice: through ecitizen's renderer, and through Django's
    templates alone."""
    initial = {"when": datetime.date(2026, 1, 2)}
    return (
        _Everything(data=data or None, initial=initial, renderer=GovukFormRenderer()),
        _Everything(data=data or None, initial=initial, renderer=TemplatesSetting()),
    )


@pytest.mark.parametrize("data", BOUND)
@pytest.mark.parametrize("name", list(_Everything.base_fields))
def test_each_widget_is_the_markup_djangos_templates_write(data, name):
    ours, djangos = _forms(data)
    assert ours[name].as_widget() == djangos[name].as_widget()


@pytest.mark.parametrize("data", BOUND)
@pytest.mark.parametrize("name", ["colour", "sizes"])
@pytest.mark.parametrize("wrap_label", [False, True])
def test_each_option_is_the_input_djangos_template_writes(data, name, wrap_label):
    ours, djangos = _forms(data)
    for option, django_option in zip(ours[name].subwidgets, djangos[name].subwidgets, strict=True):
        assert option.tag(wrap_label=wrap_label) == django_option.tag(wrap_label=wrap_label)


def test_the_option_tag_adds_the_govuk_class_and_the_hint():
    form = _Everything(data={"colour": "red"}, renderer=GovukFormRenderer())
    option = form["colour"].subwidgets[0]
    assert govuk_option(option, "govuk-radios__input", "id_colour_0-hint") == (
        '<input type="radio" name="colour" value="red" data-x="1" id="id_colour_0" '
        'required checked class="govuk-radios__input" aria-describedby="id_colour_0-hint">'
    )


def test_a_deployers_own_widget_template_is_used(settings, tmp_path):
    (tmp_path / "django/forms/widgets").mkdir(parents=True)
    (tmp_path / "django/forms/widgets/text.html").write_text("<b>{{ widget.name }}</b>")
    templates = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**templates, "DIRS": [tmp_path, *templates["DIRS"]]}]
    form = _Everything(renderer=GovukFormRenderer())
    assert form["name"].as_widget() == "<b>name</b>"
    assert form["email"].as_widget().startswith('<input type="email" name="email"')


def test_a_deployers_own_option_template_is_used_for_govuk_options(settings, tmp_path):
    (tmp_path / "django/forms/widgets").mkdir(parents=True)
    (tmp_path / "django/forms/widgets/radio_option.html").write_text("<i>{{ widget.value }}</i>")
    templates = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**templates, "DIRS": [tmp_path, *templates["DIRS"]]}]
    form = _Everything(renderer=GovukFormRenderer())
    assert govuk_option(form["colour"].subwidgets[0], "govuk-radios__input") == "<i>red</i>"
    assert govuk_option(form["sizes"].subwidgets[0], "govuk-checkboxes__input").startswith(
        '<input type="checkbox" name="sizes" value="1"'
    )
