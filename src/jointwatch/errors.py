"""JointWatch's exception hierarchy.

Why a hierarchy: the CLI and the API turn any ``JointWatchError`` into one clear line (or one
HTTP error) for the user instead of a traceback, so every message here must say what was
wrong and what to do about it.
"""

from __future__ import annotations

__all__ = ["JointWatchError", "SourceError"]


class JointWatchError(Exception):
    """Base of every error JointWatch raises on purpose for bad input or configuration."""


class SourceError(JointWatchError):
    """A source spec or a source's content cannot be used (unknown scheme, bad port, no file)."""
