"""Render hooks: text a message gets only when it is sent.

A message enqueued with ``render_hook="<name>"`` is completed by the hook registered under that
name, inside the transaction that claims the message for sending. The hook returns the text to
send (and may write, e.g. the hash of a fresh single-use link); the completed text goes to the
sender and is never stored in the outbox. ``sent``/``failed`` are told the outcome, in the
transaction that records it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pht.app.outbox.models import Message


@dataclass(frozen=True, slots=True)
class Rendered:
    """The text to send in place of the stored one (``None`` keeps the stored value)."""

    body: str
    subject: str | None = None
    attachment: bytes | None = None
    attachment_name: str | None = None
    attachment_type: str | None = None


@dataclass(frozen=True, slots=True)
class Hook:
    """What a render hook does at send time and after it."""

    render: Callable[[Message], Rendered]
    sent: Callable[[Message], None] | None = None
    failed: Callable[[Message], None] | None = None


_HOOKS: dict[str, Hook] = {}


def register(name: str, hook: Hook) -> None:
    """Register *hook* under *name* (an app does this in its ``AppConfig.ready``)."""
    _HOOKS[name] = hook


def get(name: str) -> Hook:
    """The hook registered under *name*; a clear error when there is none."""
    try:
        return _HOOKS[name]
    except KeyError:
        known = ", ".join(sorted(_HOOKS)) or "none"
        raise LookupError(f"no outbox render hook {name!r}; registered: {known}") from None


def registered() -> list[str]:
    """Names of the registered hooks."""
    return sorted(_HOOKS)
