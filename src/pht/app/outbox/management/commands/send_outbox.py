"""``django-admin send_outbox``: send the outbox's due messages (for a scheduler such as cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from pht.app.outbox.actions import send_pending


class Command(BaseCommand):
    help = "Send every queued message of the outbox that is due."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Send at most this many.")

    def handle(self, *args: Any, limit: int | None = None, **options: Any) -> None:
        s = send_pending(limit=limit)
        self.stdout.write(
            f"sent {s.sent}, to retry {s.retry}, failed {s.failed}, interrupted {s.stale}"
        )
        for pk, why in s.failures:
            self.stdout.write(f"  #{pk}: {why}")
