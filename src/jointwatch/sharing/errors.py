"""Errors of the sharing service, with the HTTP status the API answers them with."""

from __future__ import annotations

from jointwatch.errors import JointWatchError

__all__ = ["RecordError"]


class RecordError(JointWatchError, ValueError):
    """A record request cannot be met (bad marking, unknown record, not the originator)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status
