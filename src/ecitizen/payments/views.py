"""Paying: a resident's bills, paying by reference without an account, the return from
the provider, receipts, webhooks; and the sandbox provider's hosted card page."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.http import client_ip
from ecitizen.core.listing import list_page
from ecitizen.payments import selectors, services
from ecitizen.payments.forms import (
    CardForm,
    ContinueToPaymentForm,
    PayByReferenceForm,
    PaymentSearchForm,
    RefundForm,
)
from ecitizen.payments.models import Bill, Payment, PaymentState
from ecitizen.payments.money import minor_to_text
from ecitizen.payments.providers import sandbox
from ecitizen.payments.providers.base import ProviderError, WebhookRejected

#: Session key: the bills a visitor proved are theirs (reference and postcode), and the
#: payments they made without an account.
SESSION_BILLS = "payments_bills"
SESSION_PAYMENTS = "payments_made"
PAYMENT_ID = "00000000-0000-4000-8000-000000000000"


def _remember(request: HttpRequest, key: str, value: str) -> None:
    items = list(request.session.get(key, []))
    if value not in items:
        items.append(value)
    request.session[key] = items[-20:]


def _bill_for(request: HttpRequest, reference: str) -> Bill:
    """The signed-in payer's bill, or one this visitor unlocked by reference and
    postcode; 404 otherwise."""
    bill = selectors.bill_by_reference(reference=reference)
    if bill is None:
        raise Http404
    if request.user.is_authenticated and bill.payer_id == request.user.pk:
        return bill
    if bill.reference in request.session.get(SESSION_BILLS, []):
        return bill
    raise Http404


def _payment_for(request: HttpRequest, payment_id: Any) -> Payment:
    payment = selectors.payment_get(payment_id=payment_id)
    if payment is None:
        raise Http404
    if request.user.is_authenticated and request.user.pk in (
        payment.payer_id,
        payment.bill.payer_id,
    ):
        return payment
    if str(payment.pk) in request.session.get(SESSION_PAYMENTS, []):
        return payment
    raise Http404


def _instalment(request: HttpRequest) -> int | None:
    value = request.GET.get("instalment") or request.POST.get("instalment")
    return int(value) if value and value.isdigit() else None


@signed_in
def bills(request: HttpRequest) -> HttpResponse:
    """The person's bills, those with something to pay first
    (``selectors.bills_listed_for_payer``), a page at a time (``page``)."""
    user = request.user
    page = list_page(
        lambda: selectors.bills_listed_for_payer(user=user),
        request.GET.get("page"),
        selectors.BILLS_PAGE_SIZE,
        first_rows=lambda: selectors.bills_listed_first_page(user=user),
    )
    return render(request, "payments/bills.html", {"bills": page})


@public
def pay(request: HttpRequest, reference: str) -> HttpResponse:
    """What is being paid, and the button to the provider's page. The amount comes from
    the bill on the server; a form field called ``amount`` is ignored."""
    bill = _bill_for(request, reference)
    instalment = _instalment(request)
    try:
        amount = services.payable_amount(bill, instalment)
    except DomainError as error:
        return render(
            request, "payments/nothing_due.html", {"bill": bill, "message": error.message}
        )
    form = ContinueToPaymentForm(
        request.POST if request.method == "POST" else None, initial={"key": uuid.uuid4()}
    )
    if request.method == "POST" and form.is_valid():
        # The provider sends the payer back to this payment's own return page.
        return_url = request.build_absolute_uri(reverse("payments:return", args=[PAYMENT_ID]))
        return_url = return_url.replace(PAYMENT_ID, "{payment_id}")
        try:
            payment = services.payment_create(
                bill=bill,
                idempotency_key=f"web:{form.cleaned_data['key']}",
                return_url=return_url,
                instalment_number=instalment,
                payer=request.user if request.user.is_authenticated else None,
            )
            payment = services.payment_start(payment=payment)
        except (DomainError, ProviderError) as error:
            messages.error(
                request,
                str(getattr(error, "message", ""))
                or _("The payment service is not answering. Try again in a few minutes."),
            )
            return redirect(request.get_full_path())
        _remember(request, SESSION_PAYMENTS, str(payment.pk))
        if payment.finished:
            return redirect("payments:return", payment.pk)
        return redirect(payment.next_url)
    return render(
        request,
        "payments/pay.html",
        {"bill": bill, "amount": amount, "instalment": instalment, "form": form},
    )


@public
def pay_by_reference(request: HttpRequest) -> HttpResponse:
    """Pay a fine or an invoice without an account: the reference and the postcode it
    was sent to prove it is the right bill; nothing else of the bill is shown."""
    form = PayByReferenceForm(request.POST if request.method == "POST" else None)
    retry_after = 0
    if request.method == "POST" and form.is_valid():
        try:
            bill = services.bill_unlock_by_reference(
                reference=form.cleaned_data["reference"],
                postcode=form.cleaned_data["postcode"],
                ip_address=client_ip(request),
            )
        except services.PayByReferenceThrottled as throttled:
            form.add_error(None, _pay_throttle_message(throttled.wait_seconds))
            retry_after = throttled.wait_seconds
        else:
            if bill is None:
                # The same words for an unknown reference and a wrong postcode: the
                # answer must not tell which references exist.
                form.add_error(
                    None,
                    _(
                        "We could not find a bill with this reference and postcode. "
                        "Check them and try again."
                    ),
                )
            else:
                _remember(request, SESSION_BILLS, bill.reference)
                return redirect("payments:pay", bill.reference)
    # Too Many Requests while throttled, with the wait in Retry-After (RFC 9110).
    response = render(
        request,
        "payments/pay_by_reference.html",
        {"form": form},
        status=429 if retry_after else 200,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _pay_throttle_message(wait_seconds: int) -> str:
    """What happened and when the visitor can try again, in plain words."""
    from datetime import timedelta

    from django.utils import formats
    from django.utils.translation import ngettext

    minutes = max(1, -(-wait_seconds // 60))
    until = timezone.localtime(timezone.now() + timedelta(seconds=wait_seconds))
    return ngettext(
        "There have been too many attempts with a reference and postcode that do not "
        "match. Wait %(minutes)d minute before trying again (you can try again at "
        "%(time)s).",
        "There have been too many attempts with a reference and postcode that do not "
        "match. Wait %(minutes)d minutes before trying again (you can try again at "
        "%(time)s).",
        minutes,
    ) % {"minutes": minutes, "time": formats.time_format(until, "H:i")}


@public
def payment_return(request: HttpRequest, payment_id: Any) -> HttpResponse:
    """The payer is back from the provider: ask the provider (the authoritative read)
    and show the outcome."""
    payment = _payment_for(request, payment_id)
    payment = services.payment_refresh(payment=payment)
    payment.refresh_from_db()  # the receipt is issued once the settlement commits
    return render(
        request,
        "payments/return.html",
        {"payment": payment, "bill": payment.bill, "states": PaymentState},
    )


@public
def receipt(request: HttpRequest, payment_id: Any) -> HttpResponse:
    from ecitizen.documents.http import bytes_response
    from ecitizen.documents.selectors import document_for_verification, document_pdf

    payment = _payment_for(request, payment_id)
    document = (
        document_for_verification(code=payment.receipt_code) if payment.receipt_code else None
    )
    if document is None:
        raise Http404
    return bytes_response(
        document_pdf(document=document),
        content_type="application/pdf",
        filename=f"receipt-{payment.bill.reference}.pdf",
    )


@public
@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """Provider webhooks: signed, at least once, in any order (all harmless)."""
    from django.conf import settings

    if provider not in settings.PAYMENT_PROVIDERS:
        raise Http404
    try:
        services.webhook_receive(
            provider_name=provider, body=request.body, headers=dict(request.headers)
        )
    except WebhookRejected as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


# --- the sandbox provider's hosted pages ------------------------------------------------------


def _charge(charge_id: str) -> Any:
    from django.conf import settings

    from ecitizen.payments.models import SandboxCharge

    if "sandbox" not in settings.PAYMENT_PROVIDERS:  # not enabled (production): no pages
        raise Http404
    charge = SandboxCharge.objects.filter(pk=charge_id).first()
    if charge is None:
        raise Http404
    return charge


def _back_to_platform(charge: Any) -> str:
    payment = Payment.objects.filter(provider="sandbox", provider_id=charge.pk).first()
    return reverse("payments:return", args=[payment.pk]) if payment else charge.return_url


@public
def sandbox_card(request: HttpRequest, charge_id: str) -> HttpResponse:
    charge = _charge(charge_id)
    if charge.page_used or charge.state in {"success", "failed", "cancelled", "error"}:
        return render(
            request,
            "payments/sandbox/used.html",
            {"charge": charge, "back_url": _back_to_platform(charge)},
        )
    if charge.state == PaymentState.SUBMITTED and charge.failure_code == "challenge":
        return redirect("payments:sandbox_challenge", charge.pk)
    form = CardForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        charge = sandbox.sandbox_open(charge.pk)
    elif form.is_valid():
        charge = sandbox.sandbox_pay(charge.pk, card_number=form.cleaned_data["card_number"])
        if charge.state == PaymentState.SUBMITTED and charge.failure_code == "challenge":
            return redirect("payments:sandbox_challenge", charge.pk)
        return redirect(_back_to_platform(charge))
    return render(request, "payments/sandbox/card.html", {"charge": charge, "form": form})


@public
def sandbox_challenge(request: HttpRequest, charge_id: str) -> HttpResponse:
    charge = _charge(charge_id)
    if request.method == "POST":
        charge = sandbox.sandbox_challenge(
            charge.pk, approve=request.POST.get("outcome") == "approve"
        )
        return redirect(_back_to_platform(charge))
    if charge.state != PaymentState.SUBMITTED:
        return redirect(_back_to_platform(charge))
    return render(request, "payments/sandbox/challenge.html", {"charge": charge})


@public
@require_POST
def sandbox_cancel(request: HttpRequest, charge_id: str) -> HttpResponse:
    charge = sandbox.sandbox_cancel(_charge(charge_id).pk)
    return redirect(_back_to_platform(charge))


# --- finance officers ------------------------------------------------------------------------

FINANCE = selectors.FINANCE


def _day(value: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value or "")
    except ValueError:
        return timezone.localdate()


@staff_only(FINANCE)
def staff_payments(request: HttpRequest) -> HttpResponse:
    form = PaymentSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    payments = selectors.payments_search(
        user=request.user,
        query=filters.get("query", ""),
        state=filters.get("state", ""),
        provider=filters.get("provider", ""),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    page = Paginator(payments, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "payments/staff/payments.html",
        {"form": form, "page": page, "filter_query": query.urlencode()},
    )


@staff_only(FINANCE)
def staff_payment(request: HttpRequest, payment_id: Any) -> HttpResponse:
    payment = selectors.payment_for_staff(payment_id=payment_id, user=request.user)
    form = RefundForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.refund_create(
                payment=payment,
                amount_minor=form.amount_minor(),
                reason=form.cleaned_data["reason"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except (DomainError, ProviderError) as error:
            form.add_error(
                "amount",
                str(getattr(error, "message", ""))
                or _("The payment provider did not answer. Nothing was refunded."),
            )
        else:
            messages.success(request, _("The refund has been made."))
            return redirect("staff:payment", payment.pk)
    return render(
        request,
        "payments/staff/payment.html",
        {
            "payment": payment,
            "form": form,
            "refundable": services.refundable_minor(payment),
            # RelatedObjectDoesNotExist is an AttributeError: None when there is none.
            "mismatch": getattr(payment, "mismatch", None),
        },
    )


@staff_only(FINANCE)
def staff_report(request: HttpRequest) -> HttpResponse:
    day = _day(request.GET.get("day"))
    rows = selectors.settlement_report(day=day, user=request.user)
    if request.GET.get("format") == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["date", "provider", "department", "payments", "paid", "refunds", "refunded", "net"]
        )
        for row in rows:
            writer.writerow(
                [
                    day.isoformat(),
                    row["provider"],
                    row["department"],
                    row["payments"],
                    minor_to_text(row["paid_minor"]),
                    row["refunds"],
                    minor_to_text(row["refunded_minor"]),
                    minor_to_text(row["net_minor"]),
                ]
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="settlement-{day.isoformat()}.csv"'
        return response
    return render(
        request,
        "payments/staff/report.html",
        {
            "day": day,
            "rows": rows,
            "mismatches": selectors.ledger_mismatches(day=day),
            "amount_mismatches": selectors.amount_mismatches(day=day, user=request.user),
            "previous": day - datetime.timedelta(days=1),
            # Nothing is settled in the future: no "Next day" from today on.
            "next": day + datetime.timedelta(days=1) if day < timezone.localdate() else None,
        },
    )


@staff_only(FINANCE)
def staff_arrears(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "payments/staff/arrears.html",
        {"bands": selectors.arrears(today=timezone.localdate(), user=request.user)},
    )
