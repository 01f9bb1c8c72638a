"""Writes of the participation app, one module per concern (callers import the module
they need, ``from ecitizen.participation.services import budgets``):

- ``common``: capabilities, the domain error, person keys and eligibility;
- ``processes``: processes, phases, documents, eligibility rules, invitations, news opt-in;
- ``census``: census lists and their one-time codes;
- ``consultations``: consultations and surveys, responses (online, anonymous, paper),
  outcomes;
- ``proposals``: proposals, supports, official answers; ``comments``: comments, flags,
  moderation; ``follows``: following and the notices to followers;
- ``budgets``: participatory budgets, projects, feasibility, ballots, results, delivery.
"""

from ecitizen.participation.services.common import (
    PARTICIPATION_ANSWER,
    PARTICIPATION_MODERATE,
    PARTICIPATION_ORGANISE,
    PARTICIPATION_PAPER,
    PARTICIPATION_WORK,
    ParticipationError,
)

__all__ = [
    "PARTICIPATION_ANSWER",
    "PARTICIPATION_MODERATE",
    "PARTICIPATION_ORGANISE",
    "PARTICIPATION_PAPER",
    "PARTICIPATION_WORK",
    "ParticipationError",
]
