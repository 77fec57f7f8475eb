"""The small exception hierarchy services raise; views and the API translate it to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request. ``field_errors`` maps a field to Chinese messages."""

    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field_errors: dict[str, list[str]] | None = None,
        warnings: dict[str, list[str]] | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        self.warnings = warnings or {}
        if code:
            self.code = code


class NeedsConfirmation(DomainError):
    """Only warnings stand in the way: the user may confirm them and submit again."""

    code = "needs_confirmation"


class NotAllowed(DomainError):
    code = "not_allowed"


class Conflict(DomainError):
    """The request clashes with what exists (a second claim on one stay): answered 409."""

    code = "conflict"
