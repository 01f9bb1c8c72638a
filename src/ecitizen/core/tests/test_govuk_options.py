"""Radio and checkbox options written in Python are the inputs Django's templates write."""

from __future__ import annotations

import pytest
from django import forms

from ecitizen.core.templatetags.govuk import _input_tag, govuk_option


class _Choices(forms.Form):
    colour = forms.ChoiceField(
        choices=[("red", "Red"), ('say "hi" & <go>', "Odd"), ("", "None")],
        widget=forms.RadioSelect(attrs={"data-x": "1"}),
    )
    sizes = forms.MultipleChoiceField(
        choices=[(1, "One"), (2, "Two"), (3, "Three")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


@pytest.mark.parametrize(
    "data",
    [{}, {"colour": "red", "sizes": ["2"]}, {"colour": 'say "hi" & <go>', "sizes": ["1", "3"]}],
)
def test_each_option_is_the_input_djangos_template_writes(data):
    form = _Choices(data=data or None)
    for name in ("colour", "sizes"):
        for option in form[name].subwidgets:
            expected = option.tag(wrap_label=False)
            assert _input_tag(option.data) == expected


def test_the_tag_adds_the_govuk_class_and_the_hint():
    form = _Choices(data={"colour": "red"})
    option = form["colour"].subwidgets[0]
    html = govuk_option(option, "govuk-radios__input", "id_colour_0-hint")
    assert html == (
        '<input type="radio" name="colour" value="red" data-x="1" id="id_colour_0" '
        'required checked class="govuk-radios__input" aria-describedby="id_colour_0-hint">'
    )
