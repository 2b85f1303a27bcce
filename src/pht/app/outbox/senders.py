"""Senders: one per channel, chosen by settings.

A sender is any class with a ``name`` and ``send(outgoing) -> str`` that returns a receipt (a
file path, a Message-ID, a gateway's id). It raises :class:`SendFailed` with ``permanent=True``
when trying again cannot help (the recipient was refused) and ``permanent=False`` (or any
``OSError``) when it can (server down, timeout); the outbox retries the latter.

Which sender a channel uses: ``settings.PHT_OUTBOX_SENDERS`` (channel → dotted class path), else
the environment variable ``PHT_OUTBOX_<CHANNEL>_SENDER`` (``file``, ``smtp`` or a dotted path),
else :class:`FileSender`. The SMTP server: ``PHT_SMTP_HOST``/``PHT_SMTP_PORT``/
``PHT_SMTP_USER``/``PHT_SMTP_PASSWORD``/``PHT_SMTP_TLS`` in the settings or the environment,
else Django's ``EMAIL_HOST``/``EMAIL_PORT``/…; the sender address ``PHT_OUTBOX_FROM`` else
``DEFAULT_FROM_EMAIL``.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
from dataclasses import dataclass
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone
from django.utils.module_loading import import_string

from pht.core.errors import PhtError
from pht.core.settings import get_settings

log = logging.getLogger("pht.outbox")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message as a sender gets it (with the text completed by its render hook)."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    purpose: str
    attachment: bytes | None = None
    attachment_name: str = ""
    attachment_type: str = ""


class SendFailed(PhtError):
    """A message could not be sent; ``permanent`` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        self.permanent = permanent
        super().__init__(message)


class Sender(Protocol):
    """What the outbox needs of a sender."""

    name: str

    def send(self, message: Outgoing) -> str:
        """Deliver *message*; a receipt (where it went, the server's id)."""
        ...


def _setting(name: str, default: Any = None) -> Any:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return default if value in (None, "") else value


def outbox_dir() -> Path:
    """Where the file sender writes: ``PHT_OUTBOX_DIR``, else ``$PHT_HOME/outbox``."""
    return Path(_setting("PHT_OUTBOX_DIR") or get_settings().home / "outbox")


def from_address() -> str:
    """The sender address of e-mails."""
    return str(_setting("PHT_OUTBOX_FROM") or settings.DEFAULT_FROM_EMAIL)


def _email(message: Outgoing, connection: Any = None) -> EmailMessage:
    domain = from_address().rpartition("@")[2] or "pht.invalid"
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=from_address(),
        to=[message.recipient],
        connection=connection,
        headers={"Message-ID": make_msgid(f"pht.{message.id}", domain=domain)},
    )
    if message.attachment:
        email.attach(
            message.attachment_name or "vedlegg",
            message.attachment,
            message.attachment_type or "application/octet-stream",
        )
    return email


class FileSender:
    """Writes each message to a file under the outbox folder (development and demo; the files
    are what would have gone out, links included). One folder per channel and day:
    ``<dir>/<channel>/<yyyy-mm-dd>/<id>.<eml|txt>``, a letter's attachment beside it."""

    name = "file"

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory

    def send(self, message: Outgoing) -> str:
        """Write *message*; the path written."""
        base = (self.directory or outbox_dir()) / message.channel / timezone.localdate().isoformat()
        base.mkdir(parents=True, exist_ok=True)
        if message.channel == "email":
            path = base / f"{message.id}.eml"
            path.write_bytes(_email(message).message().as_bytes())
        else:
            path = base / f"{message.id}.txt"
            head = {"til": message.recipient, "emne": message.subject, "formål": message.purpose}
            text = json.dumps(head, ensure_ascii=False) + "\n\n" + message.body + "\n"
            path.write_text(text, encoding="utf-8")
            if message.attachment:
                name = Path(message.attachment_name or "vedlegg.bin").name
                (base / f"{message.id}-{name}").write_bytes(message.attachment)
        log.info("outbox: %s #%s written to %s", message.channel, message.id, path)
        return str(path)


class SmtpEmailSender:
    """Sends e-mail through an SMTP server with Django's mail (one connection per message)."""

    name = "smtp"

    def connection(self) -> Any:
        """A Django SMTP connection to the configured server."""
        return get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            host=_setting("PHT_SMTP_HOST", settings.EMAIL_HOST),
            port=int(_setting("PHT_SMTP_PORT", settings.EMAIL_PORT)),
            username=_setting("PHT_SMTP_USER", settings.EMAIL_HOST_USER),
            password=_setting("PHT_SMTP_PASSWORD", settings.EMAIL_HOST_PASSWORD),
            use_tls=str(_setting("PHT_SMTP_TLS", settings.EMAIL_USE_TLS)).lower()
            in {"1", "true", "yes"},
            timeout=float(_setting("PHT_SMTP_TIMEOUT", 10)),
            fail_silently=False,
        )

    def send(self, message: Outgoing) -> str:
        """Send *message*; its Message-ID."""
        if message.channel != "email":
            raise SendFailed(f"the SMTP sender sends e-mail, not {message.channel}", permanent=True)
        email = _email(message, self.connection())
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [f"{c} {m.decode(errors='replace')}" for c, m in err.recipients.values()]
            permanent = all(c >= 500 for c, _ in err.recipients.values())
            raise SendFailed(
                "mottakeren ble avvist: " + "; ".join(codes), permanent=permanent
            ) from None
        except smtplib.SMTPResponseException as err:
            text = (
                err.smtp_error.decode(errors="replace")
                if isinstance(err.smtp_error, bytes)
                else str(err.smtp_error)
            )
            raise SendFailed(
                f"SMTP-tjeneren svarte {err.smtp_code} {text}", permanent=err.smtp_code >= 500
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as err:
            raise SendFailed(
                f"fikk ikke kontakt med SMTP-tjeneren: {err}", permanent=False
            ) from None
        return str(email.extra_headers["Message-ID"])


ALIASES = {
    "file": "pht.app.outbox.senders.FileSender",
    "smtp": "pht.app.outbox.senders.SmtpEmailSender",
}


def sender_for(channel: str) -> Sender:
    """The configured sender of *channel*."""
    configured = getattr(settings, "PHT_OUTBOX_SENDERS", None) or {}
    path = (
        configured.get(channel) or os.environ.get(f"PHT_OUTBOX_{channel.upper()}_SENDER") or "file"
    )
    path = ALIASES.get(path, path)
    try:
        cls = import_string(path)
    except ImportError as err:
        raise PhtError(f"unknown outbox sender {path!r} for {channel}: {err}") from None
    return cls()
