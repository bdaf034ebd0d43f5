"""The retry policy: backoff with full jitter, when to stop, and what counts as temporary."""

from __future__ import annotations

import random

import pytest

from notifiers.base import DeliveryError
from notifiers.retry import (
    classify,
    classify_http_status,
    classify_smtp_code,
    classify_wecom,
    next_delay,
    retry_delay,
    should_retry,
)

TEMPORARY = DeliveryError("SMTP 451", permanent=False)
PERMANENT = DeliveryError("SMTP 550", permanent=True)


def test_the_delay_ceiling_doubles_until_the_cap() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 30.0), (2, 60.0), (3, 120.0), (4, 240.0), (5, 300.0), (12, 300.0)]:
        samples = [next_delay(attempt, base=30.0, cap=300.0, rng=rng) for _ in range(400)]
        assert all(0.0 <= delay <= ceiling for delay in samples)
        assert max(samples) > 0.9 * ceiling  # full jitter reaches up to the ceiling …
        assert min(samples) < 0.1 * ceiling  # … and down to zero


def test_the_average_delay_grows_with_the_attempts() -> None:
    rng = random.Random(1)
    means = [
        sum(next_delay(a, base=10.0, cap=1000.0, rng=rng) for _ in range(500)) / 500 for a in range(1, 6)
    ]

    assert means == sorted(means)


def test_a_huge_attempt_number_stays_at_the_cap() -> None:
    assert 0.0 <= next_delay(10_000, base=60.0, cap=3600.0, rng=random.Random(0)) <= 3600.0


def test_delays_are_deterministic_for_a_seeded_rng() -> None:
    first = [next_delay(a, base=5.0, cap=600.0, rng=random.Random(42)) for a in range(1, 8)]
    again = [next_delay(a, base=5.0, cap=600.0, rng=random.Random(42)) for a in range(1, 8)]

    assert first == again


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        next_delay(0, base=1.0, cap=10.0, rng=random.Random(0))


def test_only_temporary_errors_are_retried_and_only_up_to_the_limit() -> None:
    assert should_retry(TEMPORARY, 1, 5)
    assert should_retry(TEMPORARY, 4, 5)
    assert not should_retry(TEMPORARY, 5, 5)
    assert not should_retry(PERMANENT, 1, 5)


def test_a_providers_retry_after_is_a_minimum() -> None:
    limited = DeliveryError("rate limit", permanent=False, retry_after=60.0)

    assert retry_delay(limited, 1, base=1.0, cap=10.0, rng=random.Random(0)) == 60.0
    assert retry_delay(TEMPORARY, 1, base=1.0, cap=10.0, rng=random.Random(0)) <= 1.0


@pytest.mark.parametrize(
    ("code", "permanent"), [(421, False), (451, False), (452, False), (535, True), (550, True), (553, True)]
)
def test_smtp_4xx_is_temporary_and_5xx_permanent(code: int, permanent: bool) -> None:
    assert classify_smtp_code(code, "收件人被拒绝", "text").permanent is permanent


@pytest.mark.parametrize(
    ("errcode", "permanent", "retry_after"),
    [
        (45009, False, 60.0),
        (-1, False, None),
        (42001, False, None),
        (93000, True, None),
        (40003, True, None),
        (123456, True, None),
    ],
)
def test_wecom_errcodes(errcode: int, permanent: bool, retry_after: float | None) -> None:
    error = classify_wecom(errcode, "msg")

    assert error.permanent is permanent and error.retry_after == retry_after
    assert str(errcode) in error.reason


@pytest.mark.parametrize(
    ("status", "permanent"), [(500, False), (503, False), (429, False), (404, True), (400, True)]
)
def test_http_status(status: int, permanent: bool) -> None:
    assert classify_http_status(status).permanent is permanent


def test_http_retry_after_seconds_are_kept() -> None:
    assert classify_http_status(429, "120").retry_after == 120.0
    assert classify_http_status(503, "Wed, 21 Oct 2026 07:28:00 GMT").retry_after is None


def test_unknown_failures_are_temporary_and_delivery_errors_pass_through() -> None:
    assert not classify(ConnectionRefusedError(111, "Connection refused")).permanent
    assert not classify(TimeoutError()).permanent
    assert not classify(RuntimeError("boom")).permanent
    assert classify(PERMANENT) is PERMANENT


def test_a_delivery_error_reads_as_its_reason() -> None:
    error = DeliveryError("企业微信接口调用超过频率限制", permanent=False, retry_after=60.0)

    assert str(error) == "企业微信接口调用超过频率限制"
    assert repr(error) == "DeliveryError('企业微信接口调用超过频率限制', permanent=False, retry_after=60.0)"
