"""The rules for text-message settings, shared by ``ecitizen.settings`` (which stops the
process when ``DEBUG`` is off and they are broken) and ``check --deploy``
(:func:`ecitizen.core.checks.sms_check`).

Pure functions and constants: no Django settings, no database, no import of the
notifications app (the backends are named by their dotted paths), so that the settings
module can use them before Django is set up.
"""

from __future__ import annotations

import uuid

#: The development backend: keeps text messages for staff to read and sends none.
SMS_OUTBOX_BACKEND = "ecitizen.notifications.sms.OutboxSmsBackend"
#: The GOV.UK Notify adapter and the address of Notify's API.
NOTIFY_SMS_BACKEND = "ecitizen.notifications.sms.NotifySmsBackend"
NOTIFY_DEFAULT_BASE_URL = "https://api.notifications.service.gov.uk"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def notify_api_key_parts(key: str) -> tuple[str, str] | None:
    """The service id and the secret of a GOV.UK Notify API key
    (``{key name}-{service id}-{secret}``, both UUIDs), or ``None`` if it is not one."""
    if len(key) < 75 or key[-74] != "-" or key[-37] != "-":
        return None
    service_id, secret = key[-73:-37], key[-36:]
    if not (_is_uuid(service_id) and _is_uuid(secret)):
        return None
    return service_id, secret


def sms_backend_problem(
    *,
    backend: str,
    debug: bool,
    outbox_allowed: bool,
    notify_api_key: str,
    notify_template_id: str,
    notify_sender_id: str,
    notify_base_url: str,
) -> str | None:
    """Why these text-message settings may not run, or ``None`` if they may.

    With ``debug`` off a backend is required, and the outbox (which sends nothing) only
    with ``outbox_allowed``; the GOV.UK Notify adapter needs a well-formed API key, a
    template id, and an https address (http only with ``debug`` on, for a local stand-in).
    """
    if not backend:
        return (
            "SMS_BACKEND is required when DEBUG is off: "
            f"{NOTIFY_SMS_BACKEND} (GOV.UK Notify) or your provider's class, or the outbox "
            "together with SMS_OUTBOX_IN_PRODUCTION=true on a server whose text messages "
            "are not real (see docs/configuration.md)"
        )
    if backend == SMS_OUTBOX_BACKEND and not (debug or outbox_allowed):
        return (
            f"SMS_BACKEND={SMS_OUTBOX_BACKEND} sends no text message to anyone: with DEBUG "
            f"off use a real provider ({NOTIFY_SMS_BACKEND}, for one), or set "
            "SMS_OUTBOX_IN_PRODUCTION=true on a server whose text messages are not real"
        )
    if backend != NOTIFY_SMS_BACKEND:
        return None
    return _notify_problem(
        debug=debug,
        api_key=notify_api_key,
        template_id=notify_template_id,
        sender_id=notify_sender_id,
        base_url=notify_base_url,
    )


def _notify_problem(
    *, debug: bool, api_key: str, template_id: str, sender_id: str, base_url: str
) -> str | None:
    if notify_api_key_parts(api_key) is None:
        return (
            "NOTIFY_API_KEY must be a GOV.UK Notify API key (key name, service id and "
            "secret, as Notify shows it when the key is created)"
        )
    if not _is_uuid(template_id):
        return (
            "NOTIFY_SMS_TEMPLATE_ID must be the id (a UUID) of a Notify text message "
            "template whose whole content is ((body))"
        )
    if sender_id and not _is_uuid(sender_id):
        return "NOTIFY_SMS_SENDER_ID must be empty or the id (a UUID) of a Notify text sender"
    scheme = base_url.partition("://")[0]
    if scheme != "https" and not (debug and scheme == "http"):
        return f"NOTIFY_BASE_URL must be an https address, not {base_url!r}"
    return None
