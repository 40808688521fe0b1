"""Throttling of failed authentication, per client address.

Each client (an IPv4 address, or an IPv6 /64 network) may fail ``burst`` times in a row; the
allowance then refills at ``per_minute``. A failure beyond it is answered 429 with
Retry-After instead of 401. Valid keys never consult the throttle: they are not slowed, and a
shop backend sharing an address (a NAT, a proxy) with a misbehaving client keeps working.
Keys are 256-bit random, so the throttle is about load and noise, not about guessing."""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable

from channels.ratelimit import KeyedBuckets

log = logging.getLogger(__name__)


def client_key(host: str) -> str:
    """The unit throttled: one IPv4 address, or one IPv6 /64 (what one subscriber holds)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class FailureThrottle:
    """A token bucket per client (``channels.ratelimit``): ``burst`` failures, refilled at
    ``per_minute``."""

    def __init__(
        self,
        *,
        burst: int = 10,
        per_minute: float = 30.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("burst must be >= 1 and per_minute > 0")
        self._clients = KeyedBuckets(
            per_minute / 60.0, float(burst), max_keys=max_clients, clock=clock
        )

    def failed(self, host: str) -> float:
        """Record a failure; 0 if it is within the allowance, else seconds to wait."""
        key = client_key(host)
        bucket = self._clients.bucket(key)
        wait = bucket.take()
        if bucket.refused_in_a_row == 1:
            log.warning("failed authentication from %s throttled (429)", key)
        return wait


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
