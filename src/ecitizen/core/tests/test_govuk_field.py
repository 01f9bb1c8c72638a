"""A form field written in Python by the form renderer (``field_html``) is the markup
``govuk/field.html`` writes: the same elements, attributes, texts and escaping, for every
kind of field, with and without hints, errors and the field's own options; only the blank
space between elements may differ."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils import translation
from django.utils.translation import gettext_lazy

from ecitizen.core.forms import GovukDateField, GovukFormRenderer

ODD = 'say "hi" & <go>'


class _Everything(forms.Form):
    name = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(required=False, help_text=ODD)
    count = forms.IntegerField(widget=forms.NumberInput(attrs={"placeholder": "3"}))
    secret = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters")
    agree = forms.BooleanField(required=True, help_text="Tick to agree")
    maybe = forms.BooleanField(required=False)
    when = GovukDateField(help_text="For example, 27 3 2007")
    token = forms.CharField(widget=forms.HiddenInput)
    upload = forms.FileField(required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": "3"}), label=ODD)
    colour = forms.ChoiceField(
        choices=[("red", "Red"), (ODD, "Odd & <b>")], widget=forms.RadioSelect
    )
    sizes = forms.MultipleChoiceField(
        choices=[(1, "One"), (2, "Two")], widget=forms.CheckboxSelectMultiple, required=False
    )
    month = forms.ChoiceField(choices=[("", "Choose"), ("3", "March")], help_text="Any")
    url = forms.URLField(required=False, assume_scheme="https")
    many = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    duration = forms.DurationField(required=False, widget=forms.SplitDateTimeWidget)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].page_heading = True
        self.fields["colour"].page_heading = True
        self.fields["colour"].choice_hints = {"red": "Like a post box"}
        self.fields["sizes"].label_size = "m"
        self.fields["email"].label_size = "xl"
        self.fields["month"].label_size = "not a size"

    def clean_notes(self) -> str:
        if self.cleaned_data["notes"] == "twice":
            raise forms.ValidationError(["First <one>", "Second"])
        return str(self.cleaned_data["notes"])


#: Unbound; bound and valid where it can be; bound with an error on every field.
DATA = [
    None,
    {
        "name": ODD,
        "email": "a@example.org",
        "count": "0",
        "secret": "x",
        "agree": "on",
        "when_day": "4",
        "when_month": "12",
        "when_year": "2026",
        "token": ODD,
        "notes": ODD,
        "colour": ODD,
        "sizes": ["1"],
        "month": "3",
    },
    {
        "email": "not an email",
        "count": "many",
        "when_day": "40",
        "colour": "blue",
        "notes": "twice",
    },
]


def _bound(data: dict | None) -> _Everything:
    """A new form (rendering a choice field's options changes its bound field)."""
    form = _Everything(data=data, renderer=GovukFormRenderer())
    form.is_valid()
    return form


def _normalised(html: str) -> str:
    """``html`` with runs of blank space as one space, and none between two elements."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
@pytest.mark.parametrize("data", DATA, ids=["unbound", "valid", "errors"])
@pytest.mark.parametrize("name", list(_Everything.base_fields))
def test_each_field_is_the_markup_of_the_field_template(name, data, language):
    with translation.override(language):
        ours = _bound(data)[name].as_field_group()
        template = TemplatesSetting().render("govuk/field.html", {"field": _bound(data)[name]})
    assert _normalised(ours) == _normalised(template)
    assert "<go>" not in ours
    if data is DATA[1] and name in {"name", "notes", "email", "colour"}:
        assert "&lt;go&gt;" in ours


def test_a_field_with_errors_says_so_and_points_its_widget_to_them():
    form = _Everything(data={"count": "many"}, renderer=GovukFormRenderer())
    html = form["count"].as_field_group()
    assert 'class="govuk-form-group govuk-form-group--error"' in html
    assert 'aria-describedby="id_count-error"' in html
    assert "placeholder" not in html


@pytest.mark.parametrize(
    "template", ["govuk/field.html", "govuk/_label.html", "govuk/_hint_and_error.html"]
)
def test_a_deployers_own_field_templates_are_used(settings, tmp_path, template):
    (tmp_path / "govuk").mkdir()
    (tmp_path / template).write_text("<b>{{ field.name }}</b>")
    templates = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**templates, "DIRS": [tmp_path, *templates["DIRS"]]}]
    html = _Everything(renderer=GovukFormRenderer())["url"].as_field_group()
    assert "<b>url</b>" in html


class _Choices(forms.Form):
    """Radios and checkboxes in the ways a form may make them."""

    colour = forms.ChoiceField(
        choices=[("red", "Red"), (ODD, "Odd & <b>"), ("", "None of these")],
        widget=forms.RadioSelect,
    )
    twice = forms.ChoiceField(choices=[("a", "First"), ("a", "Again")], widget=forms.RadioSelect)
    sizes = forms.MultipleChoiceField(
        choices=[(1, "One"), (2, "Two"), (3, "Three")],
        widget=forms.CheckboxSelectMultiple(
            attrs={"class": "extra", "placeholder": "x", "data-size": ODD}
        ),
        required=False,
        help_text="Any",
    )
    fixed = forms.MultipleChoiceField(
        choices=[("x", "X")],
        widget=forms.CheckboxSelectMultiple(attrs={"id": "chosen-id"}),
        disabled=True,
        initial=["x"],
    )
    grouped = forms.ChoiceField(
        choices=[("Warm", [("r", "Red")]), ("b", "Blue")], widget=forms.RadioSelect
    )
    called = forms.ChoiceField(  # choices from a callable, a None value, lazy labels
        choices=lambda: [(None, gettext_lazy("Nothing")), ("y", gettext_lazy("Yes"))],
        widget=forms.RadioSelect,
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["colour"].choice_hints = {"red": "Like a post box", "": ODD}
        self.fields["sizes"].choice_hints = {"2": "Medium"}


@pytest.mark.parametrize(
    "data",
    [None, {"colour": ODD, "twice": "a", "sizes": ["1", "3"]}, {"colour": "blue", "sizes": ["9"]}],
    ids=["unbound", "valid", "errors"],
)
@pytest.mark.parametrize("auto_id", ["id_%s", False])
@pytest.mark.parametrize("name", list(_Choices.base_fields))
def test_options_made_here_are_django_s_options(name, auto_id, data, monkeypatch):
    """The options written without Django's bound widgets (``_plain_options``) are those
    written through them, option for option, for every way of making a choice field."""
    from ecitizen.core.templatetags import govuk

    def items(form: forms.Form) -> str:
        field = form[name]
        parts = govuk.govuk_field_parts(field)
        return str(govuk.govuk_choice_items(field, parts, parts["kind"]))

    def form() -> _Choices:
        made = _Choices(data=data, auto_id=auto_id, renderer=GovukFormRenderer())
        made.is_valid()
        return made

    ours = items(form())
    with monkeypatch.context() as patched:
        patched.setattr(govuk, "_plain_options", lambda field: None)
        django_s = items(form())
    assert ours == django_s
    assert (govuk._plain_options(form()[name]) is None) == (name == "grouped")
    assert "<go>" not in ours
