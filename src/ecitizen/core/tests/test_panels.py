"""Panels: an app adds a template to another app's page through a named slot, in order,
with the page's context and the panel's own; registering it differently is refused."""

from __future__ import annotations

import pytest
from django.template import Context, Engine

from ecitizen.core.registry import Registry, RegistryError, registry

PAGE = (
    "{% load panels %}"
    '<main>{{ title }}|{% panels "things.page" %}|{{ title }} {{ leaked|default:"-" }}</main>'
)
TEMPLATES = {
    "page.html": PAGE,
    "first.html": "[first {{ title }}]",
    "second.html": "[second {{ title }} {{ count }}]",
    "escaped.html": "[{{ title }}]",
}


def _engine() -> Engine:
    return Engine(
        loaders=[("django.template.loaders.locmem.Loader", TEMPLATES)],
        libraries={"panels": "ecitizen.core.templatetags.panels"},
    )


@pytest.fixture
def panels(monkeypatch):
    """The process's registry with no panel registered (restored afterwards)."""
    monkeypatch.setattr(registry, "panels", {})
    return registry


def _render(context: dict) -> str:
    return _engine().get_template("page.html").render(Context(context))


def test_a_slot_without_panels_renders_nothing(panels):
    assert _render({"title": "Case"}) == "<main>Case||Case -</main>"


def test_panels_render_in_order_with_the_page_s_context_and_their_own(panels):
    seen = []

    def second_context(context):
        seen.append(context["title"])
        return {"count": 3, "title": "own", "leaked": "yes"}

    panels.register_panel("things.page", "second.html", order=20, context=second_context)
    panels.register_panel("things.page", "first.html", order=10)
    panels.register_panel("elsewhere", "escaped.html")
    # The panel's own variables do not leak into the page after it.
    assert _render({"title": "Case"}) == "<main>Case|[first Case][second own 3]|Case -</main>"
    assert seen == ["Case"]


def test_a_panel_s_output_is_escaped_like_any_template(panels):
    panels.register_panel("things.page", "escaped.html")
    assert _render({"title": "<b>"}) == "<main>&lt;b&gt;|[&lt;b&gt;]|&lt;b&gt; -</main>"


def test_the_same_panel_again_is_fine_a_different_one_is_refused():
    fresh = Registry()
    fresh.register_panel("things.page", "first.html", order=1)
    fresh.register_panel("things.page", "first.html", order=1)  # ready() twice
    with pytest.raises(RegistryError, match=r"panel 'first\.html'"):
        fresh.register_panel("things.page", "first.html", order=2)
    fresh.register_panel("things.page", "second.html")
    assert [panel.template for panel in fresh.panels_for("things.page")] == [
        "second.html",
        "first.html",
    ]
    assert fresh.panels_for("nothing") == []
