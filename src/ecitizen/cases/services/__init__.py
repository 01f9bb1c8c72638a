"""Writes of the cases app: drafts, submission, the workflow engine, assignment, notes.

Every change to a case goes through a function here; each locks the case row, checks
the rule of the service's definition version, writes a :class:`CaseEvent` and an audit
event, and sends notifications on commit (through the notifications app, which itself
delivers after commit).

One module per part, each importing only what it needs:

- :mod:`.common`: the capabilities, :class:`CaseError`, the message length, the
  definition of a case's version, and what several parts share (today's date, the
  public address, how an official is named in the history, whose remit covers a case,
  the case lock, the notifications);
- :mod:`.answers`: an answer as a person reads it (the case pages and the issued
  document);
- :mod:`.drafts`: applications in progress and their submission;
- :mod:`.workflow`: the SLA clock, the workflow engine (the actions a user may take, a
  transition, its domain events), the fee's bill and its payment, the issued document;
- :mod:`.casework`: who may work or assign a case, assignment, notes, messages, the
  record of an official opening a case, the applicant's rating;
- :mod:`.jobs`: the periodic jobs (SLA escalation, draft reminders and expiry);
- :mod:`.assist`: applying for someone, with the resident's consent;
- :mod:`.demo_support`: backdating a case's history, for demo data and tests only.

Callers import from the package (``from ecitizen.cases.services import case_transition``),
which re-exports what the single module it replaces offered. The subscriber of
``BillPaid`` keeps its dotted path ``ecitizen.cases.services.case_fee_paid_on_bill_paid``
(see :mod:`.workflow`).
"""

from __future__ import annotations

import sys
import types

from ecitizen.cases.services import (
    answers,
    assist,
    casework,
    common,
    demo_support,
    drafts,
    jobs,
    workflow,
)
from ecitizen.cases.services.answers import format_answer
from ecitizen.cases.services.assist import (
    ASSIST_CODE_ATTEMPTS,
    ASSIST_CODE_MINUTES,
    IDENTITY_DOCUMENTS,
    AssistConsentError,
    assist_consent_confirm,
    assist_consent_get,
    assist_consent_request,
)
from ecitizen.cases.services.casework import (
    case_assign,
    case_message_send,
    case_note_add,
    case_viewed,
    staff_may_work,
    staff_supervises,
)
from ecitizen.cases.services.common import (
    CASES_APPLY_FOR_OTHERS,
    CASES_IDENTITY_CHECK,
    CASES_SUPERVISE,
    CASES_WORK,
    MESSAGE_MAX_LENGTH,
    CaseError,
    spec_for,
)

# Also the single module's seams a test may replace through the package (the date the
# SLA clock and due dates count from, the one way notifications leave): replacing one
# here replaces it in every module (see ``_Package``).
from ecitizen.cases.services.common import _send_notification as _send_notification
from ecitizen.cases.services.common import _today as _today
from ecitizen.cases.services.demo_support import case_history_backdate
from ecitizen.cases.services.drafts import (
    draft_discard,
    draft_problems,
    draft_reach_ineligible,
    draft_remove_file,
    draft_save_answers,
    draft_start,
    draft_submit,
)
from ecitizen.cases.services.jobs import cases_escalate, drafts_expire
from ecitizen.cases.services.workflow import (
    ActionInput,
    actions_for,
    bill_is_case_fee,
    case_document_issue,
    case_fee_paid,
    case_fee_paid_on_bill_paid,
    case_transition,
    staff_may_act,
)

__all__ = [
    "ASSIST_CODE_ATTEMPTS",
    "ASSIST_CODE_MINUTES",
    "CASES_APPLY_FOR_OTHERS",
    "CASES_IDENTITY_CHECK",
    "CASES_SUPERVISE",
    "CASES_WORK",
    "IDENTITY_DOCUMENTS",
    "MESSAGE_MAX_LENGTH",
    "ActionInput",
    "AssistConsentError",
    "CaseError",
    "actions_for",
    "assist_consent_confirm",
    "assist_consent_get",
    "assist_consent_request",
    "bill_is_case_fee",
    "case_assign",
    "case_document_issue",
    "case_fee_paid",
    "case_fee_paid_on_bill_paid",
    "case_history_backdate",
    "case_message_send",
    "case_note_add",
    "case_transition",
    "case_viewed",
    "cases_escalate",
    "draft_discard",
    "draft_problems",
    "draft_reach_ineligible",
    "draft_remove_file",
    "draft_save_answers",
    "draft_start",
    "draft_submit",
    "drafts_expire",
    "format_answer",
    "spec_for",
    "staff_may_act",
    "staff_may_work",
    "staff_supervises",
]

_MODULES = (common, answers, workflow, drafts, casework, jobs, assist, demo_support)
_UNSET = object()


class _Package(types.ModuleType):
    """The package, answering as the single module it replaces when one of its names is
    rebound (a test's ``monkeypatch.setattr(services, "_today", ...)``): the name is
    rebound too in each module of the package that holds the same object, so that the
    code calling it there calls the replacement, as it did in the one module. Undoing
    the change goes the same way."""

    def __setattr__(self, name: str, value: object) -> None:
        current = self.__dict__.get(name, _UNSET)
        if current is not _UNSET and not isinstance(current, types.ModuleType):
            for module in _MODULES:
                if module.__dict__.get(name, _UNSET) is current:
                    setattr(module, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
