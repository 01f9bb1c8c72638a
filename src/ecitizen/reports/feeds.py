"""RSS and Atom feeds of new street reports, per ward and per category (Django's
syndication framework). Public reports only; nothing personal (never the reporter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from ecitizen.accounts.selectors import jurisdictions_by_code
from ecitizen.core.access import public
from ecitizen.reports import geo, selectors, services
from ecitizen.reports.models import Report

#: A feed lists this many reports, newest first.
FEED_SIZE = 50


@dataclass(frozen=True)
class _Item:
    """A report and its category (``None`` if no longer published), read once per feed:
    the feed object is shared by every request, so nothing is kept on it."""

    report: Report
    category: services.Category | None


class _ReportsFeed(Feed):
    """New public reports matching :meth:`filters`, newest first."""

    feed_type: type[SyndicationFeed] = Rss201rev2Feed

    def filters(self, obj: Any) -> selectors.ReportFilters:
        raise NotImplementedError

    def items(self, obj: Any) -> list[_Item]:
        by_code = {category.code: category for category in services.categories()}
        reports = selectors.reports_filtered(self.filters(obj)).select_related("ward")
        return [_Item(report, by_code.get(report.category)) for report in reports[:FEED_SIZE]]

    def item_title(self, item: _Item) -> str:
        return f"{item.report.reference}: {item.report.title}"

    def item_description(self, item: _Item) -> str:
        report, category = item.report, item.category
        kind = category.title() if category else report.category
        status = category.spec.state_label(report.state) if category else report.state
        ward = report.ward.name if report.ward else ""
        where = ", ".join(part for part in (report.address, ward) if part)
        lines = [
            _("%(category)s: %(status)s") % {"category": kind, "status": status},
            where,
            Truncator(report.description).chars(500),
        ]
        return "\n".join(line for line in lines if line)

    def item_link(self, item: _Item) -> str:
        return reverse("reports:detail", args=[item.report.reference])

    def item_pubdate(self, item: _Item) -> datetime:
        return item.report.requested_at

    def item_updateddate(self, item: _Item) -> datetime:
        return item.report.updated_at

    def item_categories(self, item: _Item) -> list[str]:
        return [item.category.title() if item.category else item.report.category]


class WardFeed(_ReportsFeed):
    def get_object(self, request: HttpRequest, code: str) -> tuple[str, str]:
        """The ward's code and name; 404 for a code that is not a ward of the area."""
        if code not in geo.area().ward_codes:
            raise Http404
        return code, geo.area().ward_name(code)

    def filters(self, obj: tuple[str, str]) -> selectors.ReportFilters:
        jurisdiction = jurisdictions_by_code().get(obj[0])
        # A ward the database does not know yet has no reports (0 matches no row).
        return selectors.ReportFilters(ward_id=jurisdiction.pk if jurisdiction else 0)

    def title(self, obj: tuple[str, str]) -> str:
        return _("Street reports in %(ward)s ward") % {"ward": obj[1]}

    def description(self, obj: tuple[str, str]) -> str:
        return _("New problems reported in %(ward)s ward, newest first.") % {"ward": obj[1]}

    subtitle = description

    def link(self, obj: tuple[str, str]) -> str:
        return reverse("reports:list") + f"?ward={obj[0]}"


class WardAtomFeed(WardFeed):
    feed_type = Atom1Feed


class CategoryFeed(_ReportsFeed):
    def get_object(self, request: HttpRequest, code: str) -> services.Category:
        try:
            return services.category_get(code)
        except services.ReportError:
            raise Http404 from None

    def filters(self, obj: services.Category) -> selectors.ReportFilters:
        return selectors.ReportFilters(categories=[obj.code])

    def title(self, obj: services.Category) -> str:
        return _("Street reports: %(category)s") % {"category": obj.title()}

    def description(self, obj: services.Category) -> str:
        return _("New reports of this problem, newest first: %(category)s.") % {
            "category": obj.title()
        }

    subtitle = description

    def link(self, obj: services.Category) -> str:
        return reverse("reports:list") + f"?category={obj.code}"


class CategoryAtomFeed(CategoryFeed):
    feed_type = Atom1Feed


ward_rss = public(WardFeed())
ward_atom = public(WardAtomFeed())
category_rss = public(CategoryFeed())
category_atom = public(CategoryAtomFeed())
