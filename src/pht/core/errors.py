"""Typed errors a user can cause. Each says *what* is wrong and *where*.

No stack trace reaches a user: the command line and the web app catch :class:`PhtError`
and print its message.
"""

from __future__ import annotations


class PhtError(Exception):
    """Base class of every error a user of pht can cause (bad input, unknown ids, ...)."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InvalidIdentifier(PhtError, ValueError):
    """A Norwegian identifier (fødselsnummer, organisasjonsnummer, HPR, account) is invalid."""

    def __init__(self, value: str, reason: str, *, kind: str, where: str | None = None) -> None:
        self.value = value
        self.reason = reason
        self.kind = kind
        super().__init__(f"ugyldig {kind} {value!r}: {reason}", where=where)


class ReferenceDataError(PhtError):
    """A reference-data file is missing, malformed or inconsistent."""


class NotFound(PhtError, LookupError):
    """A thing the user asked for by id or name does not exist."""
