"""Domain exceptions shared by every area.

StationError                 base: carries a Vietnamese message for users
 ├── NotFound                the record does not exist (404)
 ├── ValidationFailed        the input breaks a rule (400/422)
 ├── Conflict                the record changed or already exists (409)
 └── PermissionDenied        the actor may not do this (403)
"""

from __future__ import annotations


class StationError(Exception):
    """A domain error whose message is safe to show to the user (Vietnamese)."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(StationError):
    """The record asked for does not exist."""

    status_code = 404


class ValidationFailed(StationError):
    """The input breaks a rule; the message names the rule."""

    status_code = 422


class Conflict(StationError):
    """The record was changed by someone else or already exists."""

    status_code = 409


class PermissionDenied(StationError):
    """The actor's role does not allow this action."""

    status_code = 403
