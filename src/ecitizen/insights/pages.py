"""A service's end pages and error pages, listed on its performance page as GOV.UK's
service assessment asks: the completion rate counts a journey as completed when it
reaches an end page, whatever the outcome ("you cannot use this service" included), and
never when it ends on an error page or is abandoned.

- End pages of an application: its confirmation ("Application sent"), and one "You
  cannot use this service" page per eligibility question of the service's definition
  (each records the completion with the outcome ``not_eligible``, once per application:
  ``cases.services.drafts.draft_reach_ineligible``).
- End pages of a street report: "Report sent", after the report form or after the
  reporter confirmed it from the email.
- Error pages: the platform's (page not found, a problem with the service, a request the
  server could not read, a page the person may not see, files too big, signed out after
  a time without activity) and the journey's own (an application that expired or was
  deleted; a report confirmation link that expired or was already used).

Labels are in the active language; ``url`` is the address's pattern, with ``<...>``
where it varies (empty for a page that any address can lead to).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.urls import reverse
from django.utils.translation import gettext as _

from ecitizen.catalogue.selectors import service_spec
from ecitizen.catalogue.spec import localised

#: How the completion rate counts a page.
SENT = "sent"
NOT_ELIGIBLE = "not_eligible"
NOT_COMPLETED = "not_completed"

_ANY_DRAFT = str(UUID(int=0))


@dataclass(frozen=True)
class JourneyPage:
    """One end page or error page of a service's journey."""

    title: str
    #: The address's pattern ("/applications/<reference>/sent/"), or "" for any address.
    url: str
    #: ``sent``, ``not_eligible`` (end pages) or ``not_completed`` (error pages).
    counts_as: str
    #: What the completion rate does with it, in words.
    counted: str
    #: When a person sees it (the eligibility reason, the error's cause).
    when: str
    #: The HTTP status of an error page (``None`` for an end page).
    status: int | None = None


@dataclass(frozen=True)
class ServicePages:
    """A service's end pages and error pages."""

    end_pages: list[JourneyPage]
    error_pages: list[JourneyPage]


def _pattern(url: str, *pairs: tuple[str, str]) -> str:
    for value, placeholder in pairs:
        url = url.replace(value, placeholder)
    return url


def _sent_counted() -> str:
    return _("Completed: the application was sent")


def _platform_errors() -> list[JourneyPage]:
    not_completed = _("Not completed")
    return [
        JourneyPage(
            title=_("Page not found"),
            url="",
            counts_as=NOT_COMPLETED,
            counted=not_completed,
            when=_("An address that does not exist, or an application of someone else"),
            status=404,
        ),
        JourneyPage(
            title=_("Sorry, there is a problem with the service"),
            url="",
            counts_as=NOT_COMPLETED,
            counted=not_completed,
            when=_("An unexpected error on the server"),
            status=500,
        ),
        JourneyPage(
            title=_("Sorry, there was a problem with your request"),
            url="",
            counts_as=NOT_COMPLETED,
            counted=not_completed,
            when=_(
                "A request the server could not read, such as a form sent twice from an old page"
            ),
            status=400,
        ),
        JourneyPage(
            title=_("You cannot see this page"),
            url="",
            counts_as=NOT_COMPLETED,
            counted=not_completed,
            when=_("A page the person is not allowed to use"),
            status=403,
        ),
        JourneyPage(
            title=_("The files you sent are too big"),
            url="",
            counts_as=NOT_COMPLETED,
            counted=not_completed,
            when=_("Files over the size limit"),
            status=413,
        ),
    ]


def _application_pages(service: Any) -> ServicePages:
    spec = service_spec(service)
    end_pages = [
        JourneyPage(
            title=_("Application sent"),
            url=_pattern(
                reverse("cases:confirmation", args=["REFERENCE"]), ("REFERENCE", "<reference>")
            ),
            counts_as=SENT,
            counted=_sent_counted(),
            when=_("The application was sent"),
        )
    ]
    for question in spec.eligibility:
        end_pages.append(
            JourneyPage(
                title=_("You cannot use this service"),
                url=_pattern(
                    reverse("cases:ineligible", args=[_ANY_DRAFT, question["id"]]),
                    (_ANY_DRAFT, "<application>"),
                ),
                counts_as=NOT_ELIGIBLE,
                counted=_("Completed: not eligible"),
                when=_("“%(question)s”: %(reason)s")
                % {
                    "question": localised(question["question"]),
                    "reason": localised(question["reason"]),
                },
            )
        )
    errors = _platform_errors()
    errors.append(
        JourneyPage(
            title=_("This application is closed"),
            url=_pattern(
                reverse("cases:draft_resume", args=[_ANY_DRAFT]), (_ANY_DRAFT, "<application>")
            ),
            counts_as=NOT_COMPLETED,
            counted=_("Not completed (counted as abandoned)"),
            when=_("An application that expired or was deleted before it was sent"),
            status=410,
        )
    )
    errors.append(
        JourneyPage(
            title=_("You have been signed out"),
            url=reverse("core:session_ended"),
            counts_as=NOT_COMPLETED,
            counted=_("Not completed (the answers given are kept)"),
            when=_("No activity for too long while applying"),
        )
    )
    return ServicePages(end_pages=end_pages, error_pages=errors)


def _report_pages() -> ServicePages:
    counted = _("Completed: the report was sent")
    end_pages = [
        JourneyPage(
            title=_("Report sent"),
            url=reverse("reports:sent"),
            counts_as=SENT,
            counted=counted,
            when=_("A signed-in reporter sent the report"),
        ),
        JourneyPage(
            title=_("Report sent"),
            url=_pattern(reverse("reports:confirm", args=["TOKEN"]), ("TOKEN", "<token>")),
            counts_as=SENT,
            counted=counted,
            when=_("A reporter who was not signed in confirmed the report from the email"),
        ),
    ]
    errors = _platform_errors()
    errors.append(
        JourneyPage(
            title=_("Send your report"),
            url=_pattern(reverse("reports:confirm", args=["TOKEN"]), ("TOKEN", "<token>")),
            counts_as=NOT_COMPLETED,
            counted=_("Not completed"),
            when=_("A confirmation link that expired or was already used"),
            status=400,
        )
    )
    return ServicePages(end_pages=end_pages, error_pages=errors)


def service_pages(service: Any) -> ServicePages:
    """The end pages and error pages of a published ``service`` (a street-report
    category's are the report journey's), in the active language."""
    extensions = service_spec(service).definition.get("extensions") or {}
    if "report" in extensions:
        return _report_pages()
    return _application_pages(service)
