"""The token bucket, Omni's one rate limiter: providers' rates shared by every run in a worker
(one bucket per provider account, one per Telegram chat), the API's throttle of failed
authentication (one bucket per client, ``orchestrator.api.throttle``) and the browser logins'
throttle (per address and per account, ``orchestrator.api.browser``)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens a second, bursting to ``burst``. ``take`` answers at once (a token, or
    how long until one); ``acquire`` waits for a token."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        # Below one token the bucket could never give one (a push rate of 0.5/s bursting to it).
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._clock = clock
        self._stamp = clock()
        #: Takes refused since the last one granted (a throttle logs the first).
        self.refused_in_a_row = 0

    def take(self) -> float:
        """0 and a token taken, or the seconds until one is there (nothing taken)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            self.refused_in_a_row = 0
            return 0.0
        self.refused_in_a_row += 1
        return (1 - self._tokens) / self.rate

    def give_back(self) -> None:
        """Return a token taken for something that turned out not to count (a login that
        succeeded)."""
        self._tokens = min(self.burst, self._tokens + 1)

    async def acquire(self) -> None:
        # No lock: on one event loop nothing runs between the check and the decrement, and
        # a lock's hand-offs cost a tenth of the throughput on the hot path.
        while wait := self.take():
            await asyncio.sleep(wait)


class KeyedBuckets:
    """One bucket per key (a Telegram chat, a client address), created full on first use;
    past ``max_keys`` the least recently used is dropped (it comes back full)."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def bucket(self, key: str) -> TokenBucket:
        found = self._buckets.pop(key, None)
        if found is None:
            found = TokenBucket(self.rate, self.burst, self._clock)
        self._buckets[key] = found
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return found

    async def acquire(self, key: str) -> None:
        await self.bucket(key).acquire()
