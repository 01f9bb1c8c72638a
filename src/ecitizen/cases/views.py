"""Applying for a service, following an application, and the officials' casework.

Resident journey (GOV.UK patterns): start → eligibility questions → one page of
questions at a time → check your answers → declaration → confirmation. Every page saves
the draft; going back after submitting leads to the confirmation, never to the form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ecitizen.accounts.models import Role, User
from ecitizen.accounts.selectors import (
    IdentityVerificationRequired,
    resident_legal_name,
    user_has_role,
    user_with_profile,
    wards,
)
from ecitizen.cases import selectors, services
from ecitizen.cases.forms import (
    ActionForm,
    AssignForm,
    ConsentCodeForm,
    ConsentForm,
    DeclarationForm,
    EligibilityForm,
    InPersonCheckForm,
    MessageForm,
    NoteForm,
    QuestionPageForm,
)
from ecitizen.cases.home import home_page
from ecitizen.cases.models import Case, Channel, Draft
from ecitizen.cases.presentation import (
    CASE_ROW_FIELDS,
    QUEUE_ROW_COLUMNS,
    QueueRow,
    answer_rows,
    case_rows,
    case_summary,
    prefill_values,
    queue_rows,
    timeline_rows,
)
from ecitizen.catalogue.selectors import (
    service_get_published,
    services_published_list,
    version_specs,
)
from ecitizen.catalogue.spec import ServiceSpec, localised
from ecitizen.catalogue.templatetags.catalogue import service_title
from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.errors import DomainError
from ecitizen.core.http import client_ip
from ecitizen.core.listing import list_page
from ecitizen.core.processcache import Kept
from ecitizen.documents.http import upload_response

if TYPE_CHECKING:  # types only: other apps' models are theirs to query
    from ecitizen.catalogue.models import Service

QUEUE_PAGE_SIZE = 25
#: Applications a resident sees at once on "Your applications" (per list).
APPLICATIONS_PAGE_SIZE = 20


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _posted(request: HttpRequest, *, files: bool = False) -> tuple[Any, ...]:
    """A form's data: the POST (even an empty one, so that it is validated and shows
    its errors), or nothing on GET."""
    if request.method != "POST":
        return (None, None) if files else (None,)
    return (request.POST, request.FILES) if files else (request.POST,)


# --- the journey ------------------------------------------------------------------------------


def _step_url(draft: Draft, spec: ServiceSpec) -> str:
    """Where the applicant goes next: the first unanswered (or failed) eligibility
    question, the first page with unanswered questions, or check your answers."""
    answers = draft.answers
    for question in spec.eligibility:
        if question["id"] not in answers:
            return reverse("cases:eligibility", args=[draft.pk, question["id"]])
        if answers[question["id"]] not in question["eligible_answers"]:
            return reverse("cases:ineligible", args=[draft.pk, question["id"]])
    page = spec.first_unanswered_page(answers)
    if page is not None:
        return reverse("cases:page", args=[draft.pk, page["id"]])
    return reverse("cases:check", args=[draft.pk])


def _open_draft(request: HttpRequest, draft_id: Any) -> tuple[Draft | None, HttpResponse | None]:
    """The user's draft if it can still be filled in; otherwise the response to give
    (the confirmation for a submitted one, a "closed" page for expired or deleted)."""
    draft = selectors.draft_get_for_user(user=request.user, draft_id=draft_id)
    if draft.status == Draft.Status.SUBMITTED and draft.case_id:
        return None, redirect("cases:confirmation", draft.case.reference)  # type: ignore[union-attr]
    if draft.status != Draft.Status.OPEN:
        return None, render(
            request,
            "cases/draft_closed.html",
            {
                "draft": draft,
                "service": draft.service_version.service,
                "spec": services.spec_for(draft.service_version),
            },
            status=410,
        )
    return draft, None


@signed_in
def apply_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start (or resume) an application; the start page's button links here."""
    service = service_get_published(slug=slug)
    try:
        draft = services.draft_start(
            service=service, applicant=_user(request), actor=_user(request)
        )
    except IdentityVerificationRequired as error:
        # The page offers to link the national eID, then to come back here.
        return render(
            request,
            "accounts/identity_required.html",
            {
                "error": error,
                "what": services.spec_for(service.current_version).title(),
                "back_url": request.get_full_path(),
            },
            status=403,
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("catalogue:start", slug)
    return redirect(_step_url(draft, services.spec_for(draft.service_version)))


@staff_only(services.CASES_APPLY_FOR_OTHERS)
def assisted_start(request: HttpRequest, slug: str) -> HttpResponse:
    """A helper (library, community centre) or an official at the counter names the
    resident they apply for; the resident is sent a one-time code. The page that follows
    is the same whether or not the address has an account."""
    service = service_get_published(slug=slug)
    helper = user_has_role(request.user, {Role.INTERMEDIARY})
    form = ConsentForm(*_posted(request))
    if request.method == "POST" and form.is_valid():
        consent = services.assist_consent_request(
            service=service,
            resident_email=form.cleaned_data["resident_email"],
            actor=_user(request),
            ip_address=client_ip(request),
        )
        return redirect("cases:assisted_consent", slug=service.slug, consent_id=consent.pk)
    return render(
        request,
        "cases/assisted_start.html",
        {
            "form": form,
            "service": service,
            "spec": services.spec_for(service.current_version),
            "channel": Channel.ASSISTED if helper else Channel.COUNTER,
        },
    )


@staff_only(services.CASES_APPLY_FOR_OTHERS)
def assisted_consent(request: HttpRequest, slug: str, consent_id: Any) -> HttpResponse:
    """The code the resident reads out (or, for an official, an identity check in
    person) grants the consent and starts the application."""
    service = service_get_published(slug=slug)
    user = _user(request)
    try:
        consent = services.assist_consent_get(consent_id=consent_id, actor=user)
    except DomainError as error:
        raise Http404 from error
    if consent.service_id != service.pk:
        raise Http404
    may_check_in_person = user_has_role(user, services.CASES_IDENTITY_CHECK)
    posted = request.POST if request.method == "POST" else None
    in_person_posted = posted is not None and posted.get("method") == "in_person"
    code_form = ConsentCodeForm(None if in_person_posted else posted, prefix="code")
    person_form = (
        InPersonCheckForm(posted if in_person_posted else None, prefix="person")
        if may_check_in_person
        else None
    )
    chosen = person_form if in_person_posted else code_form
    if chosen is not None and chosen.is_bound and chosen.is_valid():
        try:
            draft = services.assist_consent_confirm(
                consent_id=consent.pk,
                actor=user,
                code=chosen.cleaned_data.get("code", ""),
                identity_document=chosen.cleaned_data.get("identity_document", ""),
                ip_address=client_ip(request),
            )
        except DomainError as error:
            field = "identity_document" if in_person_posted else "code"
            chosen.add_error(field if error.code != "not_allowed" else None, str(error.message))
        else:
            return redirect(_step_url(draft, services.spec_for(draft.service_version)))
    return render(
        request,
        "cases/assisted_consent.html",
        {
            "service": service,
            "spec": services.spec_for(service.current_version),
            "code_form": code_form,
            "person_form": person_form,
            "minutes": services.ASSIST_CODE_MINUTES,
        },
    )


@signed_in
def draft_resume(request: HttpRequest, draft_id: Any) -> HttpResponse:
    draft, response = _open_draft(request, draft_id)
    if draft is None:
        return response  # type: ignore[return-value]
    return redirect(_step_url(draft, services.spec_for(draft.service_version)))


@signed_in
def eligibility(request: HttpRequest, draft_id: Any, question_id: str) -> HttpResponse:
    draft, response = _open_draft(request, draft_id)
    if draft is None:
        return response  # type: ignore[return-value]
    spec = services.spec_for(draft.service_version)
    question = spec.eligibility_question(question_id)
    if question is None:
        raise Http404
    answers = draft.answers
    initial = {}
    if question_id in answers:
        value = answers[question_id]
        initial["answer"] = ("yes" if value else "no") if isinstance(value, bool) else value
    form = EligibilityForm(*_posted(request), question=question, initial=initial)
    if request.method == "POST" and form.is_valid():
        draft = services.draft_save_answers(
            draft=draft, values={question_id: form.answer()}, actor=_user(request)
        )
        return redirect(_step_url(draft, spec))
    index = [q["id"] for q in spec.eligibility].index(question_id)
    back = (
        reverse("cases:eligibility", args=[draft.pk, spec.eligibility[index - 1]["id"]])
        if index
        else reverse("catalogue:start", args=[spec.slug])
    )
    return render(
        request,
        "cases/eligibility.html",
        {"form": form, "draft": draft, "spec": spec, "back_url": back},
    )


@signed_in
def ineligible(request: HttpRequest, draft_id: Any, question_id: str) -> HttpResponse:
    """The "you cannot use this service" end page: reaching it completes the journey
    (recorded once per application, for the completion rate). Someone whose answer does
    not stop them is sent on to the next step instead."""
    draft, response = _open_draft(request, draft_id)
    if draft is None:
        return response  # type: ignore[return-value]
    spec = services.spec_for(draft.service_version)
    question = spec.eligibility_question(question_id)
    if question is None:
        raise Http404
    try:
        services.draft_reach_ineligible(draft=draft, question_id=question_id)
    except DomainError:
        return redirect(_step_url(draft, spec))
    return render(
        request,
        "cases/ineligible.html",
        {
            "draft": draft,
            "spec": spec,
            "reason": localised(question["reason"]),
            "question_id": question_id,
        },
    )


@signed_in
def question_page(  # noqa: PLR0911, PLR0912 - show, save, remove a file, or move on
    request: HttpRequest, draft_id: Any, page_id: str
) -> HttpResponse:
    draft, response = _open_draft(request, draft_id)
    if draft is None:
        return response  # type: ignore[return-value]
    spec = services.spec_for(draft.service_version)
    answers = draft.answers
    page = spec.page(page_id)
    if page is None or page not in spec.visible_pages(answers):
        return redirect(_step_url(draft, spec))
    questions = spec.visible_questions(page, answers)
    files = {
        q["id"]: list(draft.files.filter(question=q["id"]).select_related("upload"))
        for q in questions
        if q["type"] == "file"
    }
    files_present = {question_id for question_id, items in files.items() if items}
    prefilled = [q["id"] for q in questions if q.get("prefill") and q["id"] not in answers]
    returning = request.GET.get("return") == "check"
    if request.method == "POST" and "remove_file" in request.POST:
        try:
            services.draft_remove_file(
                draft=draft, draft_file_id=int(request.POST["remove_file"]), actor=_user(request)
            )
        except (DomainError, ValueError):
            messages.error(request, _("That file could not be removed. Try again."))
        return redirect(request.get_full_path())
    if request.method == "POST":
        form = QuestionPageForm(
            request.POST, request.FILES, page=page, questions=questions, files_present=files_present
        )
        if form.is_valid():
            try:
                draft = services.draft_save_answers(
                    draft=draft, values=form.answers(), files=form.new_files(), actor=_user(request)
                )
            except DomainError as error:
                file_field = next((q for q in form.new_files()), None)
                form.add_error(file_field, str(error.message))
            else:
                if "add_another" in request.POST:
                    return redirect(request.get_full_path())
                # The next page in order while it is unanswered; otherwise the first
                # page still unanswered (one a changed answer revealed), else the check.
                following = spec.page_after(page_id, draft.answers)
                if following is not None and not spec.page_complete(following, draft.answers):
                    return redirect("cases:page", draft.pk, following["id"])
                return redirect(_step_url(draft, spec))
    else:
        initial = QuestionPageForm.initial_from_answers(questions, answers)
        if prefilled:
            # Read only for a page with a question to prefill: a profile is nine fields
            # to decrypt, most pages prefill none.
            applicant = user_with_profile(user_id=draft.applicant_id)
            if applicant is None:  # the account deleted (with its drafts) since the draft
                raise Http404
            for question_id, value in prefill_values(questions, answers, applicant).items():
                initial.setdefault(question_id, value)
        form = QuestionPageForm(
            page=page, questions=questions, files_present=files_present, initial=initial
        )
    previous = spec.page_before(page_id, answers)
    if returning:
        back = reverse("cases:check", args=[draft.pk])
    elif previous is not None:
        back = reverse("cases:page", args=[draft.pk, previous["id"]])
    elif spec.eligibility:
        back = reverse("cases:eligibility", args=[draft.pk, spec.eligibility[-1]["id"]])
    else:
        back = reverse("catalogue:start", args=[spec.slug])
    return render(
        request,
        "cases/page.html",
        {
            "form": form,
            "draft": draft,
            "spec": spec,
            "page": page,
            "page_title": localised(page.get("title"))
            or (localised(questions[0]["label"]) if questions else ""),
            "single": len(questions) == 1 and not page.get("title"),
            "files": files,
            "back_url": back,
            "prefilled": prefilled,
            "has_file_question": bool(files) or any(q["type"] == "file" for q in questions),
        },
    )


@signed_in
def check_answers(request: HttpRequest, draft_id: Any) -> HttpResponse:
    draft, response = _open_draft(request, draft_id)
    if draft is None:
        return response  # type: ignore[return-value]
    spec = services.spec_for(draft.service_version)
    if spec.first_unanswered_page(draft.answers) is not None or any(
        draft.answers.get(q["id"]) not in q["eligible_answers"] for q in spec.eligibility
    ):
        return redirect(_step_url(draft, spec))
    form = DeclarationForm(*_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            case = services.draft_submit(draft=draft, actor=_user(request))
        except DomainError as error:
            messages.error(request, str(error.message))
            return redirect(_step_url(draft, spec))
        return redirect("cases:confirmation", case.reference)
    answers = spec.relevant_answers(draft.answers)
    return render(
        request,
        "cases/check.html",
        {
            "form": form,
            "draft": draft,
            "spec": spec,
            "sections": answer_rows(spec, answers, draft=draft),
            "fee": spec.fee(answers),
            "back_url": reverse(
                "cases:page", args=[draft.pk, spec.visible_pages(answers)[-1]["id"]]
            ),
        },
    )


@signed_in
def draft_discard(request: HttpRequest, draft_id: Any) -> HttpResponse:
    draft, response = _open_draft(request, draft_id)
    if draft is None:
        return response  # type: ignore[return-value]
    spec = services.spec_for(draft.service_version)
    if request.method == "POST":
        services.draft_discard(draft=draft, actor=_user(request))
        messages.success(request, _("Your application in progress has been deleted."))
        return redirect("cases:applications")
    return render(request, "cases/draft_discard.html", {"draft": draft, "spec": spec})


@signed_in
def draft_file(request: HttpRequest, draft_id: Any, file_id: int) -> HttpResponse:
    draft = selectors.draft_get_for_user(user=request.user, draft_id=draft_id)
    item = selectors.draft_file_get(draft, file_id=file_id)
    return upload_response(item.upload)


# --- following an application ---------------------------------------------------------------


@signed_in
def confirmation(request: HttpRequest, reference: str) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, reference=reference)
    return render(request, "cases/confirmation.html", {"case": case, "summary": case_summary(case)})


def _sent_by(user: Any) -> QuerySet[Case]:
    """The applications ``user`` (or their id) made for themselves, newest first."""
    return (
        selectors.cases_for_applicant(user=user)
        .only(*CASE_ROW_FIELDS)
        .order_by("-submitted_at", "-pk")
    )


def _helped_by(user: Any) -> QuerySet[Case]:
    """The applications ``user`` (or their id) made for others as a helper, newest
    first."""
    return (
        selectors.cases_submitted_by_helper(user=user)
        .only(*CASE_ROW_FIELDS, "applicant__full_name")
        .order_by("-submitted_at", "-pk")
    )


#: The first page of each list of "Your applications", the page nearly every visit
#: reads, compiled once per process (core.compiled): building the two queries in the
#: ORM cost more Python than the rest of the view.
_A_PERSON = -7_031_962_481
_SENT_FIRST_PAGE = CompiledQuery(
    Case,
    lambda user: _sent_by(user)[:APPLICATIONS_PAGE_SIZE],
    user=(_A_PERSON, Case._meta.get_field("applicant")),
)
_HELPED_FIRST_PAGE = CompiledQuery(
    Case,
    lambda user: _helped_by(user)[:APPLICATIONS_PAGE_SIZE],
    user=(_A_PERSON, Case._meta.get_field("submitted_by")),
)


@signed_in
def applications(request: HttpRequest) -> HttpResponse:
    """The resident's drafts, then the applications they sent and those they sent for
    others (a helper's), newest first, each list a page at a time
    (:data:`APPLICATIONS_PAGE_SIZE`; ``page`` and ``helped_page`` turn them separately)."""
    user = _user(request)
    sent = list_page(
        lambda: _sent_by(user),
        request.GET.get("page"),
        APPLICATIONS_PAGE_SIZE,
        first_rows=lambda: _SENT_FIRST_PAGE.objects(user=user.pk),
    )
    helped = list_page(
        lambda: _helped_by(user),
        request.GET.get("helped_page"),
        APPLICATIONS_PAGE_SIZE,
        first_rows=lambda: _HELPED_FIRST_PAGE.objects(user=user.pk),
    )
    return render(
        request,
        "cases/applications.html",
        {
            "drafts": selectors.drafts_open_listed(user=user),
            "sent_page": sent,
            "cases": case_rows(list(sent)),
            "helped_page": helped,
            "helped": case_rows(list(helped), with_applicant=True),
            "sent_query": urlencode({"helped_page": helped.number}) if helped.number > 1 else "",
            "helped_query": urlencode({"page": sent.number}) if sent.number > 1 else "",
        },
    )


@signed_in
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    from ecitizen.documents.selectors import documents_for_owner_about

    case = selectors.case_get_for_user(user=request.user, reference=reference)
    spec = services.spec_for(case.service_version)
    is_applicant = case.applicant_id == request.user.pk
    documents = (
        documents_for_owner_about(user=case.applicant, reference=case.reference)
        if is_applicant
        else []
    )
    files = selectors.case_files_once(case=case)  # for the timeline and the answers
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "spec": spec,
            "summary": case_summary(case),
            "timeline": timeline_rows(case, for_applicant=True, case_files=files),
            "sections": answer_rows(
                spec, case.answers, case=case, case_files=files, for_applicant=True
            ),
            "actions": services.actions_for(_user(request), case) if is_applicant else [],
            "documents": documents,
            "is_applicant": is_applicant,
        },
    )


@signed_in
def case_action(request: HttpRequest, reference: str, action_id: str) -> HttpResponse:
    """The applicant takes a resident action (answer a request for information, withdraw)."""
    case = selectors.case_get_for_user(user=request.user, reference=reference)
    return _action_page(request, case, action_id, staff=False)


@signed_in
def case_file(request: HttpRequest, reference: str, file_id: int) -> HttpResponse:
    case = selectors.case_get_for_user(user=request.user, reference=reference)
    item = selectors.case_file_get(case, file_id=file_id, for_applicant=True)
    return upload_response(item.upload)


def _action_page(request: HttpRequest, case: Case, action_id: str, *, staff: bool) -> HttpResponse:
    spec = services.spec_for(case.service_version)
    action = next(
        (a for a in services.actions_for(_user(request), case) if a["id"] == action_id), None
    )
    detail = "staff:case_detail" if staff else "cases:case_detail"
    if action is None:
        messages.error(request, _("This action is no longer possible: the case has moved on."))
        return redirect(detail, case.reference)
    form = ActionForm(*_posted(request, files=True))
    if not action.get("attachments"):
        del form.fields["attachments"]
    if not action.get("publish_records"):
        del form.fields["publish"]
    if action.get("reason_required"):
        form.fields["text"].required = True
        form.fields["text"].error_messages["required"] = _("Enter a reason or message")
    if not staff:
        form.fields["text"].label = _("Your message")
    if request.method == "POST" and form.is_valid():
        try:
            services.case_transition(
                case=case,
                action_id=action_id,
                actor=_user(request),
                given=services.ActionInput(
                    text=form.cleaned_data.get("text", ""),
                    files=form.cleaned_data.get("attachments") or [],
                    publish=bool(form.cleaned_data.get("publish")),
                ),
            )
        except DomainError as error:
            form.add_error(
                "text" if error.code in {"reason_required", "too_long"} else None,
                str(error.message),
            )
        else:
            messages.success(
                request, _("Done: %(action)s.") % {"action": localised(action["label"])}
            )
            return redirect(detail, case.reference)
    return render(
        request,
        "cases/action.html",
        {
            "case": case,
            "spec": spec,
            "action": action,
            "form": form,
            "staff": staff,
            # Officials read the state in their words, the applicant in theirs.
            "new_status": spec.staff_state_label(action["to"])
            if staff
            else spec.state_label(action["to"]),
            "detail_url": reverse(detail, args=[case.reference]),
        },
    )


# --- casework ---------------------------------------------------------------------------------


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


#: (service title, [(value, label)]) of the statuses of one service.
StateGroup = tuple[str, list[tuple[str, str]]]

#: The queue's filter options for a language, a service filter and the published
#: services' versions (by checksum: what the options are made from); see
#: :func:`_queue_filter_options`.
_filter_options: Kept[tuple[list[tuple[str, str]], list[StateGroup], frozenset[str]]] = Kept()


def _queue_filter_options(
    published: list[Service], filters: selectors.QueueFilters
) -> tuple[list[tuple[str, str]], list[StateGroup]]:
    """The options of the queue's service and status filters: (value, label) of each
    service, and its statuses grouped by service, (service title, [(value, label in the
    reader's language)]). Each service names its states in its own words, so a state is
    offered per service: with a service chosen, that service's states (value: the
    code); with none, every service's (value: ``service:code``, which
    :func:`_queue_state_filter` reads as both filters). A code from the address that no
    service has is kept, so the filter shown is the filter applied.

    Worked out once per language, service chosen and set of published versions, and kept
    in the process (the same for every official: they are the published definitions'
    words); a service from the address that is not published counts as one key, so what
    is kept stays small."""
    slugs = {service.slug for service in published}
    chosen = filters.service if filters.service in slugs else ("" if not filters.service else None)
    key = (
        get_language(),
        chosen,
        tuple(
            (service.slug, service.current_version.checksum)
            for service in published
            if service.current_version is not None
        ),
    )
    services_options, groups, known = _filter_options.get_or_make(
        key, lambda: _filter_options_for(published, chosen)
    )
    if filters.state and filters.state not in known:
        groups = [*groups, (_("Other"), [(filters.state, filters.state)])]
    return services_options, groups


def _filter_options_for(
    published: list[Service], chosen: str | None
) -> tuple[list[tuple[str, str]], list[StateGroup], frozenset[str]]:
    """:func:`_queue_filter_options`' options, with every status value offered.
    ``chosen``: the service filter, ``""`` for none, ``None`` for one not published
    (which offers no status)."""
    groups = []
    known: set[str] = set()
    for service in published:
        if chosen is None or (chosen and service.slug != chosen):
            continue
        spec = services.spec_for(service.current_version)
        prefix = "" if chosen else f"{service.slug}:"
        options = [(f"{prefix}{code}", spec.staff_state_label(code)) for code in spec.states]
        groups.append((spec.title(), options))
        known.update(value for value, _label in options)
    services_options = [(service.slug, service_title(service)) for service in published]
    return services_options, groups, frozenset(known)


def _queue_state_filter(request: HttpRequest) -> tuple[str, str]:
    """(service, state) from the queue's address; ``state=service:code`` (a status
    chosen among all services') sets the service too, unless one is chosen already."""
    service = request.GET.get("service", "")[:63]
    state = request.GET.get("state", "")[:127]
    if ":" in state:
        state_service, state = state.split(":", 1)
        service = service or state_service
    return service, state[:63]


@staff_only(services.CASES_WORK)
def case_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    service, state = _queue_state_filter(request)
    filters = selectors.QueueFilters(
        state=state,
        service=service,
        ward=request.GET.get("ward", "")[:63],
        due=request.GET.get("due", "") if request.GET.get("due") in {"overdue", "week"} else "",
        assigned=request.GET.get("assigned", "")
        if request.GET.get("assigned") in {"me", "none"}
        else "",
        sort=request.GET.get("sort", "due_date")
        if request.GET.get("sort") in selectors.SORTS
        else "due_date",
        include_closed=request.GET.get("closed") == "1",
        actionable=request.GET.get("actionable") == "1",
    )
    today = timezone.localdate()
    page = list_page(
        lambda: selectors.case_queue(user=user, filters=filters).values_list(*QUEUE_ROW_COLUMNS),
        request.GET.get("page"),
        QUEUE_PAGE_SIZE,
        first_rows=None
        if filters.actionable
        else lambda: selectors.queue_first_page(
            user=user, filters=filters, columns=QUEUE_ROW_COLUMNS, size=QUEUE_PAGE_SIZE
        ),
    )
    published = services_published_list()
    rows = [QueueRow._make(row) for row in page.object_list]
    specs = version_specs(row.version_checksum for row in rows)
    services_options, state_groups = _queue_filter_options(published, filters)

    return render(
        request,
        "cases/staff/queue.html",
        {
            "page": page,
            "rows": queue_rows(rows, specs=specs, today=today),
            "filters": filters,
            # (value, label) of the filters' options (select_options)
            "services": services_options,
            "state_groups": state_groups,
            "wards": [(ward.code, ward.localised_name) for ward in wards()],
            "filter_query": _without_page(request),
        },
    )


@staff_only(services.CASES_WORK)
def staff_case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = selectors.case_get_for_staff(user=request.user, reference=reference)
    return _staff_case_page(request, case)


def _staff_case_page(
    request: HttpRequest,
    case: Case,
    *,
    failed_form: NoteForm | MessageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The staff case page. ``failed_form``: a note or message that could not be added,
    shown again with its error and the text as typed (and summarised at the top)."""
    from ecitizen.documents.selectors import documents_for_owner_about

    user = _user(request)
    spec = services.spec_for(case.service_version)
    services.case_viewed(case=case, actor=user)
    supervisor = services.staff_supervises(user, case)
    officials = selectors.officials_for_case(case) if supervisor else []
    note_form = failed_form if isinstance(failed_form, NoteForm) else NoteForm(prefix="note")
    message_form = (
        failed_form if isinstance(failed_form, MessageForm) else MessageForm(prefix="message")
    )
    files = selectors.case_files_once(case=case)  # for the timeline and the answers
    return render(
        request,
        "cases/staff/case_detail.html",
        {
            "case": case,
            "spec": spec,
            "summary": case_summary(case, for_staff=True),
            "timeline": timeline_rows(case, for_applicant=False, case_files=files),
            "sections": answer_rows(
                spec, case.answers, case=case, case_files=files, for_applicant=False
            ),
            "actions": services.actions_for(user, case),
            "note_form": note_form,
            "message_form": message_form,
            "form": failed_form,
            "today": timezone.localdate(),
            "assign_form": AssignForm(
                officials=officials, initial={"assignee": case.assigned_to_id}
            )
            if supervisor
            else None,
            "documents": documents_for_owner_about(user=case.applicant, reference=case.reference),
            "applicant_name": resident_legal_name(user_id=case.applicant_id)
            or case.applicant.full_name,
        },
        status=status,
    )


@staff_only(services.CASES_WORK)
def staff_case_action(request: HttpRequest, reference: str, action_id: str) -> HttpResponse:
    case = selectors.case_get_for_staff(user=request.user, reference=reference)
    return _action_page(request, case, action_id, staff=True)


@staff_only(services.CASES_WORK)
@require_POST
def staff_case_assign(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    case = selectors.case_get_for_staff(user=user, reference=reference)
    if request.POST.get("take") == "1":
        assignee: User | None = user
    else:
        officials = selectors.officials_for_case(case)
        form = AssignForm(request.POST, officials=officials)
        if not form.is_valid():
            messages.error(request, _("Select who works on the case"))
            return redirect("staff:case_detail", reference)
        chosen = form.cleaned_data["assignee"]
        assignee = next((o for o in officials if str(o.pk) == chosen), None) if chosen else None
    try:
        services.case_assign(case=case, assignee=assignee, actor=user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("The case is assigned.") if assignee else _("The case is unassigned.")
        )
    return redirect("staff:case_detail", reference)


def _case_text_post(
    request: HttpRequest,
    reference: str,
    *,
    form_class: type[NoteForm] | type[MessageForm],
    prefix: str,
    write: Any,
    done: str,
) -> HttpResponse:
    """Post a note or a message on the staff case page, then back to it with ``done``.
    When the form is invalid (400) or the service refuses (409), the page is shown again
    with the error at the field and the text as typed, so nothing is lost."""
    case = selectors.case_get_for_staff(user=request.user, reference=reference)
    form = form_class(request.POST, prefix=prefix)
    if not form.is_valid():
        return _staff_case_page(request, case, failed_form=form, status=400)
    try:
        write(case=case, text=form.cleaned_data["text"], actor=_user(request))
    except DomainError as error:
        form.add_error("text", str(error.message))
        return _staff_case_page(request, case, failed_form=form, status=409)
    messages.success(request, done)
    return redirect("staff:case_detail", reference)


@staff_only(services.CASES_WORK)
@require_POST
def staff_case_note(request: HttpRequest, reference: str) -> HttpResponse:
    return _case_text_post(
        request,
        reference,
        form_class=NoteForm,
        prefix="note",
        write=services.case_note_add,
        done=_("Note added."),
    )


@staff_only(services.CASES_WORK)
@require_POST
def staff_case_message(request: HttpRequest, reference: str) -> HttpResponse:
    return _case_text_post(
        request,
        reference,
        form_class=MessageForm,
        prefix="message",
        write=services.case_message_send,
        done=_("Message sent to the applicant."),
    )


@staff_only(services.CASES_WORK)
def staff_case_file(request: HttpRequest, reference: str, file_id: int) -> HttpResponse:
    case = selectors.case_get_for_staff(user=request.user, reference=reference)
    item = selectors.case_file_get(case, file_id=file_id, for_applicant=False)
    return upload_response(item.upload, inline=request.GET.get("view") == "1")


@signed_in
@require_GET
def rate(request: HttpRequest, reference: str) -> HttpResponse:
    """ "What did you think of this service?" after applying (the applicant only). The
    question itself is a panel another app fills (``{% panels "cases.submitted" %}``):
    this page only shows it for the case."""
    case = selectors.case_get_for_user(user=request.user, reference=reference)
    if case.applicant_id != request.user.pk:
        raise Http404
    return render(
        request,
        "cases/rate.html",
        {"case": case, "service_title": services.spec_for(case.service_version).title()},
    )


@public
def records_archive(request: HttpRequest) -> HttpResponse:
    """The public archive of records released in answer to information requests."""
    page = Paginator(selectors.published_records(), 50).get_page(request.GET.get("page"))
    return render(request, "cases/records.html", {"page": page})


@public
def record_file(request: HttpRequest, file_id: int) -> HttpResponse:
    item = selectors.published_record_get(file_id=file_id)
    return upload_response(item.upload)


@public
def home(request: HttpRequest) -> HttpResponse:
    """The home page (``core:home``): search, the popular services, paying by reference,
    what the signed-in person has to do, and help for people who cannot use online
    services."""
    return render(request, "home/home.html", {"home": home_page(user=request.user)})
