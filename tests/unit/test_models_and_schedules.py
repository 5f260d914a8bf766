"""Trigger definitions, payload rules and schedule maths: pure and fast."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from trigger_platform.definitions import AtSchedule, IntervalSchedule, TriggerDefinition
from trigger_platform.payloads import MAX_KEYS, MAX_SAFE_INTEGER, MAX_STRING_LENGTH
from trigger_platform.schedules import first_fire_at, schedule_errors

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
definition = TypeAdapter(TriggerDefinition)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.floats(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER, allow_nan=False),
    st.text(max_size=50).filter(lambda s: "\x00" not in s),
)
keys = st.text(min_size=1, max_size=20).filter(lambda s: "\x00" not in s)


@given(st.dictionaries(keys, scalars, max_size=20))
def test_any_flat_payload_of_scalars_is_accepted_unchanged(payload: dict[str, Any]) -> None:
    parsed = definition.validate_python({"type": "api", "payload": payload}).root
    assert parsed.payload == payload


@given(
    st.dictionaries(keys, scalars, max_size=5),
    keys,
    st.one_of(st.lists(scalars, max_size=3), st.dictionaries(keys, scalars, max_size=3)),
)
def test_any_nested_value_is_rejected_at_its_key(flat: dict[str, Any], key: str, nested: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        definition.validate_python({"type": "api", "payload": {**flat, key: nested}})
    assert any(e["loc"][-1] == key for e in raised.value.errors())


@pytest.mark.parametrize(
    "payload",
    [
        {f"k{i}": i for i in range(MAX_KEYS + 1)},
        {"": 1},
        {"k" * 129: 1},
        {"s": "x" * (MAX_STRING_LENGTH + 1)},
        {"n": MAX_SAFE_INTEGER + 1},
        {"f": float("inf")},
        {f"k{i}": "x" * 4000 for i in range(5)},
    ],
)
def test_payload_limits_are_enforced(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        definition.validate_python({"type": "api", "payload": payload})


def test_seed_bodies_parse() -> None:
    scheduled = definition.validate_python(
        {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
    ).root
    api = definition.validate_python({"type": "api", "payload": {"key": "value"}}).root
    assert scheduled.type == "scheduled" and api.type == "api"


@pytest.mark.parametrize(("unit", "seconds"), [("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400)])
def test_one_time_interval_fires_once_after_its_interval(unit: str, seconds: int) -> None:
    schedule = IntervalSchedule(interval=3, unit=unit)  # type: ignore[arg-type]
    assert schedule_errors(schedule, NOW) == []
    assert first_fire_at(schedule, NOW) == NOW + timedelta(seconds=3 * seconds)


def test_recurring_interval_under_a_minute_is_refused_and_a_minute_is_fine() -> None:
    assert schedule_errors(IntervalSchedule(interval=59, unit="seconds", is_recurring=True), NOW)
    assert not schedule_errors(IntervalSchedule(interval=60, unit="seconds", is_recurring=True), NOW)
    assert not schedule_errors(IntervalSchedule(interval=3, unit="seconds"), NOW)


@pytest.mark.parametrize(
    ("at", "ok"),
    [
        (NOW - timedelta(seconds=1), False),
        (NOW, False),
        (NOW + timedelta(seconds=1), True),
        (NOW + timedelta(days=5 * 365), True),
        (NOW + timedelta(days=5 * 366 + 1), False),
    ],
)
def test_at_must_be_in_the_future_and_within_five_years(at: datetime, ok: bool) -> None:
    assert (schedule_errors(AtSchedule(at=at), NOW) == []) is ok


def test_at_keeps_its_offset_and_fires_at_that_instant() -> None:
    schedule = definition.validate_python({"type": "scheduled", "schedule": {"at": "2027-01-05T09:00:00+01:00"}}).root
    assert first_fire_at(schedule.schedule, NOW) == datetime(2027, 1, 5, 8, 0, tzinfo=UTC)
