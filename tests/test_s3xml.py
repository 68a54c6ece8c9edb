"""Timestamps as S3 servers write them: fixed vectors, on every supported Python.

Python 3.10's `datetime.fromisoformat` reads only 0, 3 or 6 fractional digits and no `Z`;
SeaweedFS writes anything from 1 to 9 digits. `six_digit_fraction` is what makes 3.10 work,
so it is tested directly, whichever Python runs the tests.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3lite import MalformedResponse
from s3lite.s3xml import parse_timestamp, six_digit_fraction

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2009-10-12T17:50:30.000Z", dt.datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)),
        ("2009-10-12T17:50:30Z", dt.datetime(2009, 10, 12, 17, 50, 30, tzinfo=UTC)),
        ("2026-11-21T20:06:46.5Z", dt.datetime(2026, 11, 21, 20, 6, 46, 500000, tzinfo=UTC)),
        ("2026-11-21T20:06:46.55Z", dt.datetime(2026, 11, 21, 20, 6, 46, 550000, tzinfo=UTC)),
        ("2026-11-21T20:06:46.1234Z", dt.datetime(2026, 11, 21, 20, 6, 46, 123400, tzinfo=UTC)),
        (
            "2026-11-21T20:06:46.123456789Z",
            dt.datetime(2026, 11, 21, 20, 6, 46, 123456, tzinfo=UTC),
        ),
        (
            "2026-11-21T20:06:46.12+02:00",
            dt.datetime(2026, 11, 21, 18, 6, 46, 120000, tzinfo=UTC),
        ),
        ("2026-11-21T20:06:46", dt.datetime(2026, 11, 21, 20, 6, 46, tzinfo=UTC)),
        (" 2026-11-21T20:06:46.7Z ", dt.datetime(2026, 11, 21, 20, 6, 46, 700000, tzinfo=UTC)),
    ],
)
def test_timestamps_with_any_fraction_parse_to_aware_utc(text: str, expected: dt.datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-21T20:06:46.55+00:00", "2026-11-21T20:06:46.550000+00:00"),
        ("2026-11-21T20:06:46.5", "2026-11-21T20:06:46.500000"),
        ("2026-11-21T20:06:46.123456789-05:30", "2026-11-21T20:06:46.123456-05:30"),
        ("2026-11-21T20:06:46+00:00", "2026-11-21T20:06:46+00:00"),
    ],
)
def test_fractions_are_cut_or_padded_to_six_digits(text: str, expected: str) -> None:
    assert six_digit_fraction(text) == expected


@given(
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    st.integers(min_value=0, max_value=9),
)
def test_any_timestamp_s3_could_write_round_trips(when: dt.datetime, digits: int) -> None:
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{when.microsecond:06d}000"[:digits]
    text = f"{base}.{fraction}Z" if digits else f"{base}Z"
    kept = int(fraction.ljust(6, "0")[:6]) if digits else 0
    assert parse_timestamp(text) == when.replace(microsecond=kept, tzinfo=UTC)
    assert dt.datetime.fromisoformat(six_digit_fraction(text[:-1])) == when.replace(
        microsecond=kept
    )


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "2026-11-21T25:00:00Z"])
def test_bad_timestamps_are_malformed_responses(text: str) -> None:
    with pytest.raises(MalformedResponse, match="bad timestamp"):
        parse_timestamp(text)


def test_no_timestamp_is_none() -> None:
    assert parse_timestamp(None) is None
    assert parse_timestamp("") is None
