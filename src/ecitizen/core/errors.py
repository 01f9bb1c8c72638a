"""Domain errors: raised by services, shown to people as clear messages."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused an action. ``code`` is stable; ``message`` is for people
    (already translated, or lazily translatable)."""

    code = "domain_error"

    def __init__(self, message: object, *, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        if code is not None:
            self.code = code


class PermissionDenied(DomainError):
    code = "permission_denied"
