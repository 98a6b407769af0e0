"""Per-sender rate limiting, shared by the REST, web and Telegram channels.

A token bucket per sender: `burst` messages may come at once, after which one
message is let in every `60 / per_minute` seconds. A person reading answers
never gets near it (the defaults are 20 at once, then 30 a minute); a script
flooding one conversation does, and its extra messages are refused before they
reach NLU, the tracker store or the action server, so other readers keep their
speed. The sender is told how long to wait, once per refusal streak: a chat
channel that answered every flooded message would flood the chat back (and
Telegram itself limits a bot to about one message a second per chat). The
REST channel answers each refused request with 429 and `Retry-After`.

The limit is per Rasa process. Behind a load balancer that spreads one sender
over N servers the effective limit is N times higher (docs/production.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from knowledge.settings import ChannelSettings, get_channel_settings

MAX_SENDERS = 100_000  # buckets kept; the least recently seen are forgotten first (they are full by then)


def rate_limit_reply(wait_seconds: int) -> str:
    """The Indonesian message for a sender who must slow down."""
    return (
        f"Pesannya terlalu banyak dalam waktu singkat. Tunggu {wait_seconds} detik, "
        "lalu kirim lagi pertanyaannya."
    )


@dataclass(frozen=True)
class Decision:
    """Let the message in, or refuse it; `notify` is true for the first refusal of a streak."""

    allowed: bool
    retry_after: int = 0
    notify: bool = False

    @property
    def reply(self) -> str:
        """What to tell the sender when refused."""
        return rate_limit_reply(self.retry_after)


@dataclass
class _Bucket:
    tokens: float
    updated: float
    refusing: bool = False


class RateLimiter:
    """Token buckets keyed by sender id."""

    def __init__(
        self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic,
        max_senders: int = MAX_SENDERS,
    ) -> None:
        self.burst = burst
        self.per_second = per_minute / 60.0
        self.clock = clock
        self.max_senders = max_senders
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """A burst or rate of 0 means no limit."""
        return self.burst > 0 and self.per_second > 0

    def check(self, sender: str) -> Decision:
        """Spend one token of this sender's bucket, or say how long until one is back."""
        if not self.enabled:
            return Decision(allowed=True)
        now = self.clock()
        bucket = self._buckets.pop(sender, None) or _Bucket(tokens=float(self.burst), updated=now)
        self._buckets[sender] = bucket  # most recently seen last
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        while len(self._buckets) > self.max_senders:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.refusing = False
            return Decision(allowed=True)
        wait = max(1, math.ceil((1.0 - bucket.tokens) / self.per_second))
        notify = not bucket.refusing
        bucket.refusing = True
        return Decision(allowed=False, retry_after=wait, notify=notify)


def limiter_for(settings: ChannelSettings) -> RateLimiter:
    """A limiter with the configured burst and rate."""
    return RateLimiter(settings.rate_burst, settings.rate_per_minute)


@lru_cache(maxsize=1)
def get_limiter() -> RateLimiter:
    """The process-wide limiter; every channel of the server shares it (sender ids differ per channel)."""
    return limiter_for(get_channel_settings())
