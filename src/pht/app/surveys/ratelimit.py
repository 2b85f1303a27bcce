"""Rate limits of the patient's page, on the cache shared by every server process
(``CACHES["limits"]``, a table in the app database).

Guessing links: an address gets :data:`MAX_FAILED` refused links per :data:`WINDOW`; after that
every link it opens is refused with 429 until the window has passed (a correct link too, so a
guesser learns nothing). Saving: a response takes at most :data:`MAX_SAVES` saves per window.
The count is shared by every server process (gunicorn workers), so the limits hold whichever
process answers; Django's database cache counts by read and write, so two processes counting
at the same instant may count one hit less.
"""

from __future__ import annotations

import time

from django.core.cache import caches

WINDOW = 600  # seconds
MAX_FAILED = 10
MAX_SAVES = 200


def _key(kind: str, who: str) -> str:
    return f"survey-rl:{kind}:{who}:{int(time.time() // WINDOW)}"


def _count(kind: str, who: str) -> int:
    return int(caches["limits"].get(_key(kind, who), 0))


def _hit(kind: str, who: str) -> int:
    cache = caches["limits"]
    key = _key(kind, who)
    if cache.add(key, 1, WINDOW + 5):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW + 5)
        return 1


def link_blocked(address: str) -> bool:
    """Whether *address* has used up its refused links in this window."""
    return _count("fail", address) >= MAX_FAILED


def link_failed(address: str) -> int:
    """Count one refused link of *address*; the count so far."""
    return _hit("fail", address)


def save_allowed(response_uid: str) -> bool:
    """Count one save of a response; whether it is still within the limit."""
    return _hit("save", response_uid) <= MAX_SAVES
