"""The catalogue's public search form (a GET form: bookmarkable, every value optional,
a value that is not valid is ignored rather than refused)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

#: The sort orders offered (value -> label); "" is the default (last updated first).
SORT_CHOICES = [
    ("", _("Last updated")),
    ("title_string asc", _("Title (A to Z)")),
    ("title_string desc", _("Title (Z to A)")),
    ("metadata_created desc", _("Newest datasets")),
]

#: The facets shown as filters: CKAN's field name -> the filter's label.
FACET_FILTERS = {
    "organization": _("Organisation"),
    "groups": _("Theme"),
    "res_format": _("Format"),
    "license_id": _("Licence"),
    "tags": _("Keyword"),
}

#: Keywords are many: only the most used are offered (and any already chosen).
KEYWORD_CHOICES = 15

MAX_QUERY_LENGTH = 200


class SearchWordsForm(forms.Form):
    """The words searched for: the search box at the top of the page."""

    q = forms.CharField(
        label=_("Search datasets"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Filters are optional by nature: their labels do not say "(optional)" (GOV.UK's
        # filter pattern) and nothing is marked required.
        self.use_required_attribute = False
        self.fields["q"].label_size = "m"  # type: ignore[attr-defined]
        self.fields["q"].required = True  # shown without "(optional)"


class DatasetSearchForm(SearchWordsForm):
    """The words searched for, the facet values chosen (checkboxes with their counts) and
    the order, as the page shows them (:func:`filters_html` writes its filters; the
    search itself is read by :func:`read_search`)."""

    organization = forms.MultipleChoiceField(
        label=FACET_FILTERS["organization"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    groups = forms.MultipleChoiceField(
        label=FACET_FILTERS["groups"], required=False, widget=forms.CheckboxSelectMultiple
    )
    res_format = forms.MultipleChoiceField(
        label=FACET_FILTERS["res_format"], required=False, widget=forms.CheckboxSelectMultiple
    )
    license_id = forms.MultipleChoiceField(
        label=FACET_FILTERS["license_id"], required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.MultipleChoiceField(
        label=FACET_FILTERS["tags"], required=False, widget=forms.CheckboxSelectMultiple
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(
        self,
        *args: Any,
        choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``choices``: each facet filter's checkboxes (:func:`facet_choices`)."""
        super().__init__(*args, **kwargs)
        for name in FACET_FILTERS:
            field = self.fields[name]
            field.choices = list((choices or {}).get(name, ()))  # type: ignore[attr-defined]
            field.required = True  # shown without "(optional)"
            field.label_size = "s"  # type: ignore[attr-defined]
        self.fields["sort"].label_size = "s"  # type: ignore[attr-defined]
        self.fields["sort"].required = True

    def facet_fields(self) -> list[forms.BoundField]:
        """The facet filters that have something to choose from."""
        return [
            self[name]
            for name in FACET_FILTERS
            if self.fields[name].choices  # type: ignore[attr-defined]
        ]


def facet_choices(
    name: str,
    facets: Mapping[str, Sequence[tuple[str, int]]],
    labels: Mapping[str, Mapping[str, str]],
    chosen: Mapping[str, Sequence[str]],
) -> list[tuple[str, str]]:
    """The checkboxes of the facet filter ``name``: each value counted in ``facets`` (the
    keywords' most used only), then each value ``chosen`` that no longer matches anything
    (so that it can be unticked), labelled by ``labels`` with its count."""
    counted = list(facets.get(name, ()))
    if name == "tags":
        counted = counted[:KEYWORD_CHOICES]
    values = {value for value, _count in counted}
    counted += [(value, 0) for value in chosen.get(name, ()) if value not in values]
    shown = labels.get(name, {})
    return [(value, f"{shown.get(value, value)} ({count})") for value, count in counted]


def filters_html(
    *,
    facets: Mapping[str, Sequence[tuple[str, int]]],
    labels: Mapping[str, Mapping[str, str]],
    chosen: Mapping[str, Sequence[str]],
    sort: str,
) -> SafeString:
    """The search page's filter column: the facet filters that have something to choose
    from, then the order, each as ``{{ field.as_field_group }}`` of a
    :class:`DatasetSearchForm` writes it (unbound: no errors).

    Kept per process by all that it shows: the language, each filter's choices (their
    counts in their labels) and ticked values, and the order chosen. The same search
    shows the same filters until a count changes; writing its forty-odd checkboxes, and
    building the form, was a quarter of the page's time."""
    choices = {name: tuple(facet_choices(name, facets, labels, chosen)) for name in FACET_FILTERS}
    key = (
        get_language(),
        tuple((name, choices[name], tuple(chosen.get(name, ()))) for name in FACET_FILTERS),
        sort,
    )
    found = _kept_filters.get(key)
    if found is None:
        form = DatasetSearchForm(initial={"sort": sort, **chosen}, choices=choices)
        written = "".join(field.as_field_group() for field in form.facet_fields())
        found = mark_safe(written + form["sort"].as_field_group())  # noqa: S308 - rendered
        if len(_kept_filters) >= _FILTERS_KEPT:
            _kept_filters.clear()
        _kept_filters[key] = found
    return found


#: The filter columns written (:func:`filters_html`), by what they show. Bounded, and so
#: not a ``core.processcache.Kept``: the values ticked come from the address.
_kept_filters: dict[tuple[Any, ...], SafeString] = {}
_FILTERS_KEPT = 512


@receiver(setting_changed)
def _forget_filters(**kwargs: object) -> None:
    """A change of settings (tests: the templates, the languages) forgets what was written."""
    _kept_filters.clear()


def read_search(params: Mapping[str, Any]) -> dict[str, Any]:
    """What a search asks for, from the query string, without refusing anything: the
    words (trimmed to ``MAX_QUERY_LENGTH``), each facet's values (as given: an unknown
    value simply matches nothing), and the sort as given (the view checks it)."""
    getlist = getattr(params, "getlist", None)

    def clean(value: Any) -> str:
        # A NUL cannot reach the database (PostgreSQL refuses it in text).
        return str(value or "").replace("\x00", "").strip()

    def values(name: str) -> list[str]:
        raw = getlist(name) if getlist else [params.get(name, "")]
        return list(dict.fromkeys(clean(v)[:100] for v in raw if clean(v)))

    return {
        "q": clean(params.get("q"))[:MAX_QUERY_LENGTH],
        "terms": {name: values(name) for name in FACET_FILTERS},
        "sort": clean(params.get("sort")),
    }
