"""The one token bucket (channels/ratelimit.py) and what is built on it: the keyed buckets of
Telegram's per-chat limit, the API's throttle of failed authentication and the login throttle
(tests/console/test_console_sessions.py drives that one through the console)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from channels.ratelimit import KeyedBuckets, TokenBucket
from orchestrator.api.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_gives_its_burst_then_says_how_long_until_the_next_token() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    assert bucket.take() == pytest.approx(0.5) and bucket.refused_in_a_row == 1
    assert bucket.take() == pytest.approx(0.5) and bucket.refused_in_a_row == 2
    clock.now += 0.5
    assert bucket.take() == 0 and bucket.refused_in_a_row == 0
    clock.now += 60
    assert [bucket.take() for _ in range(4)][-1] > 0  # refilled to the burst, not beyond
    bucket.give_back()  # a take that did not count (a login that succeeded)
    assert bucket.take() == 0 and bucket.take() > 0


def test_a_burst_below_one_token_still_gives_tokens() -> None:
    assert TokenBucket(0.5, burst=0.5).take() == 0
    with pytest.raises(ValueError):
        TokenBucket(0)


async def test_acquire_waits_for_the_token_it_was_told_of() -> None:
    bucket = TokenBucket(1000.0, burst=1)
    await asyncio.wait_for(asyncio.gather(*(bucket.acquire() for _ in range(5))), timeout=60)
    assert bucket.take() > 0  # five tokens went, one at a time


def test_keyed_buckets_are_separate_and_the_least_recently_used_goes_first() -> None:
    clock = Clock()
    keyed = KeyedBuckets(1.0, burst=1, max_keys=2, clock=clock)
    assert keyed.bucket("a").take() == 0
    assert keyed.bucket("b").take() == 0
    assert keyed.bucket("a").take() > 0  # "a" is now the most recently used
    assert keyed.bucket("c").take() == 0  # drops "b", the least recently used
    assert keyed.bucket("a").take() > 0  # "a" kept its empty bucket
    assert keyed.bucket("b").take() == 0  # "b" came back full


def test_failed_authentication_is_a_bucket_per_client(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    throttle = FailureThrottle(burst=10, per_minute=30, clock=clock)
    assert [throttle.failed("198.51.100.7") for _ in range(10)] == [0.0] * 10
    with caplog.at_level(logging.WARNING, logger="orchestrator.api.throttle"):
        assert throttle.failed("198.51.100.7") == pytest.approx(2.0)
        assert throttle.failed("198.51.100.7") == pytest.approx(2.0)
    assert len(caplog.records) == 1  # the first refusal of a streak is logged, not each
    # One IPv6 /64 is one client; another client has its own allowance.
    assert [throttle.failed(f"2001:db8::{i}") for i in range(1, 11)] == [0.0] * 10
    assert throttle.failed("2001:db8::ffff") > 0
    assert throttle.failed("198.51.100.8") == 0
    clock.now += 2
    assert throttle.failed("198.51.100.7") == 0
