"""Participation pages: comments. Residents comment and reply (the form sits under the
comments of a consultation, proposal or project: ``participation/_comments.html``; a reply
has its own page, so it works without JavaScript), and flag comments; moderators work
through the flagged comments and the proposals, and hide, show again or keep them.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _

from ecitizen.core.access import signed_in, staff_only
from ecitizen.core.forms import submission_already_done, submission_remember
from ecitizen.participation.forms_proposals import CommentForm, FlagForm, HideForm
from ecitizen.participation.models import Action, Comment
from ecitizen.participation.selectors import comments as selectors
from ecitizen.participation.selectors.proposals import proposals_for_moderation
from ecitizen.participation.services import PARTICIPATION_MODERATE, ParticipationError
from ecitizen.participation.services import comments as services
from ecitizen.participation.views.common import participant, process_public_or_404
from ecitizen.participation.views.proposals import posted, signed_in_user

SUBMITTED = "participation.comments.submitted"
STAFF_PAGE_SIZE = 50


def _anchor(target: selectors.CommentTarget, comment: Comment | None = None) -> str:
    return f"{target.url}#{f'comment-{comment.pk}' if comment else 'comments'}"


@signed_in
def comment_new(request: HttpRequest, kind: str, target_id: int) -> HttpResponse:
    """Post a comment on a consultation, proposal or project, or a reply (``reply``, in
    the address or the form: the comment answered). The form on the object's page posts
    here; a comment refused (personal details in it, too long) comes back here with its
    text kept."""
    target = selectors.comment_target_or_404(kind, target_id)
    process = process_public_or_404(target.process.slug)
    parent_id = str(request.POST.get("parent") or request.GET.get("reply") or "")
    # ASCII digits only ("²" is a digit to str.isdigit), and a number the database holds.
    valid = re.fullmatch(r"[0-9]{1,18}", parent_id) is not None
    parent = selectors.reply_parent(target, int(parent_id) if valid else None)
    context: dict[str, Any] = {"target": target, "process": process, "parent": parent}
    if parent is not None:
        context["parent_name"] = selectors.public_name(parent.author)
    if not target.open:
        return render(request, "participation/comment_new.html", {**context, "closed": True})
    who = participant(request, process, Action.COMMENT)
    if not who.eligibility.allowed:
        return render(
            request, "participation/comment_new.html", {**context, "eligibility": who.eligibility}
        )
    form = CommentForm(
        posted(request),
        initial={"parent": parent.pk if parent else None},
        reply=parent is not None,
    )
    if request.method == "POST":
        done = submission_already_done(request, form, session_key=SUBMITTED)
        if done is not None:
            return done
        if form.is_valid():
            try:
                comment = services.comment_post(
                    target_kind=target.kind,
                    target_id=target.target_id,
                    body=form.cleaned_data["body"],
                    parent=parent,
                    author=signed_in_user(request),
                    actor=signed_in_user(request),
                )
            except ParticipationError as error:
                form.add_error("body", str(error.message))
            else:
                url = _anchor(target, comment)
                submission_remember(request, form, url, session_key=SUBMITTED)
                messages.success(request, _("Your comment is published."))
                return redirect(url)
    return render(request, "participation/comment_new.html", {**context, "form": form})


@signed_in
def comment_flag(request: HttpRequest, comment_id: int) -> HttpResponse:
    """Report a comment that breaks the code of conduct: a reason, once per person, never
    one's own comment."""
    comment, target = selectors.comment_public_or_404(comment_id)
    back = _anchor(target, comment)
    form = FlagForm(posted(request))
    refusal = None
    if comment.author_id == request.user.pk:
        refusal = _("You cannot report your own comment.")
    elif comment.status == Comment.Status.HIDDEN:
        refusal = _("A moderator has already hidden this comment.")
    elif comment.flags.filter(flagged_by=signed_in_user(request)).exists():
        refusal = _("You have already reported this comment. A moderator will look at it.")
    if refusal is None and request.method == "POST":
        done = submission_already_done(request, form, session_key=SUBMITTED)
        if done is not None:
            return done
        if form.is_valid():
            try:
                services.comment_flag(
                    comment=comment,
                    reason=form.cleaned_data["reason"],
                    user=signed_in_user(request),
                )
            except ParticipationError as error:
                messages.error(request, str(error.message))
                return redirect(back)
            submission_remember(request, form, back, session_key=SUBMITTED)
            messages.success(
                request, _("Thank you for telling us. A moderator will look at the comment.")
            )
            return redirect(back)
    return render(
        request,
        "participation/comment_flag.html",
        {
            "comment": comment,
            "author_name": selectors.public_name(comment.author),
            "target": target,
            "form": form,
            "refusal": refusal,
            "back_url": back,
        },
    )


# --- moderators ---------------------------------------------------------------------------


@staff_only(PARTICIPATION_MODERATE)
def moderation(request: HttpRequest) -> HttpResponse:
    """The moderators' queue: flagged comments (the most flagged first), proposals (the
    hidden first, then the newest) and the comments hidden lately, in the processes of
    the moderator's remit."""
    flagged = Paginator(
        selectors.comments_flagged(user=signed_in_user(request), capability=PARTICIPATION_MODERATE),
        STAFF_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    proposals = Paginator(
        proposals_for_moderation(user=signed_in_user(request), capability=PARTICIPATION_MODERATE),
        STAFF_PAGE_SIZE,
    ).get_page(request.GET.get("proposals_page"))
    hidden = selectors.comments_hidden(
        user=signed_in_user(request), capability=PARTICIPATION_MODERATE
    )
    return render(
        request,
        "participation/staff/moderation.html",
        {
            "flagged": flagged,
            "flagged_rows": [
                {"comment": comment, "author_name": selectors.public_name(comment.author)}
                for comment in flagged.object_list
            ],
            "proposals": proposals,
            "hidden": hidden[:STAFF_PAGE_SIZE],
        },
    )


@staff_only(PARTICIPATION_MODERATE)
def comment_moderate(request: HttpRequest, comment_id: int) -> HttpResponse:
    """One comment for a moderator: its flags by reason, then hide it with a reason
    shown in its place, keep it (its flags are closed), or show a hidden one again
    (POST ``action``: ``hide``, ``keep`` or ``unhide``)."""
    comment = selectors.comment_for_moderation(
        user=signed_in_user(request), capability=PARTICIPATION_MODERATE, comment_id=comment_id
    )
    target = selectors.comment_target(comment.target_kind, comment.target_id)
    back = reverse("staff:participation_moderation")
    form = HideForm(posted(request))
    if request.method == "POST":
        done = submission_already_done(request, form, session_key=SUBMITTED)
        if done is not None:
            return done
        action = request.POST.get("action", "hide")
        if action in {"keep", "unhide"} or form.is_valid():
            try:
                if action == "keep":
                    services.comment_flags_dismiss(comment=comment, actor=signed_in_user(request))
                    done_message = _("The comment stays published; its reports are closed.")
                elif action == "unhide":
                    services.comment_unhide(comment=comment, actor=signed_in_user(request))
                    done_message = _("The comment is shown again.")
                else:
                    services.comment_hide(
                        comment=comment,
                        reason=form.cleaned_data["reason"],
                        actor=signed_in_user(request),
                    )
                    done_message = _("The comment is hidden. The reason is shown in its place.")
            except ParticipationError as error:
                if action == "hide":
                    form.add_error("reason", str(error.message))
                else:
                    messages.error(request, str(error.message))
                    return redirect(request.path)
            else:
                submission_remember(request, form, back, session_key=SUBMITTED)
                messages.success(request, done_message)
                return redirect(back)
    return render(
        request,
        "participation/staff/moderation_comment.html",
        {
            "comment": comment,
            "author_name": selectors.public_name(comment.author),
            "target": target,
            "flags": selectors.flag_reasons_count(comment),
            "form": form,
            "back_url": back,
        },
    )


urls: list[URLPattern] = [
    path("comments/<slug:kind>/<int:target_id>/", comment_new, name="comment_new"),
    path("comments/<int:comment_id>/flag/", comment_flag, name="comment_flag"),
]
staff_urls: list[URLPattern] = [
    path("moderation/", moderation, name="participation_moderation"),
    path("comments/<int:comment_id>/hide/", comment_moderate, name="participation_comment_hide"),
]
