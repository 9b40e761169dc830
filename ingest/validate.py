"""Turning one device message (topic + payload) into validated readings, or a rejection.

Validation happens once, here; every later stage trusts the bus. Each rejection carries
a stable machine-readable reason (for metrics and the dead-letter topic) and one line
of detail for a person.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, cast

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from floodwatch.core import bus
from floodwatch.core.readings import Reading, reading_of
from floodwatch.core.registry import STATION_ID_RE, StationKind, StationRegistry
from floodwatch.ingest import senml
from floodwatch.ingest.fast_payloads import decode_valid
from floodwatch.ingest.payloads import RiverPayload, RoadPayload, Timestamp
from floodwatch.ingest.senml_cbor import InvalidCBOR, decode_cbor_pack, is_cbor_pack


class Reason(StrEnum):
    BAD_TOPIC = "bad_topic"
    UNKNOWN_STATION = "unknown_station"
    KIND_MISMATCH = "kind_mismatch"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    OUT_OF_RANGE = "out_of_range"
    INVALID_SENML = "invalid_senml"
    INVALID_CBOR = "invalid_cbor"
    UNSUPPORTED_SENML_VERSION = "unsupported_senml_version"
    SENML_VALUE_COUNT = "senml_value_count"
    UNSUPPORTED_UNIT = "unsupported_unit"
    FUTURE_TIMESTAMP = "future_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    STORE_REJECTED = "store_rejected"
    # Not the message's fault: a bug in floodwatch, which costs only this message.
    INTERNAL_ERROR = "internal_error"


class Rejected(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class Validated(NamedTuple):
    readings: list[Reading]
    unknown_keys: list[str]


_validated = cast(Callable[[tuple[list[Reading], list[str]]], Validated],
                  functools.partial(tuple.__new__, Validated))

DEVICE_KINDS = frozenset(kind.value for kind in StationKind)
DEVICE_TOPIC_FORM = bus.DEVICE.name(kind="{" + "|".join(sorted(DEVICE_KINDS)) + "}",
                                    station="{station_id}")
_RANGE_ERRORS = {"greater_than_equal", "less_than_equal", "finite_number", "greater_than",
                 "less_than"}
_SENML_REASONS: dict[type[senml.SenMLError], Reason] = {
    senml.InvalidJSON: Reason.INVALID_JSON,
    InvalidCBOR: Reason.INVALID_CBOR,
    senml.UnsupportedVersion: Reason.UNSUPPORTED_SENML_VERSION,
    senml.ValueCountError: Reason.SENML_VALUE_COUNT,
    senml.UnsupportedUnit: Reason.UNSUPPORTED_UNIT,
}
_PAYLOAD_MODELS: dict[StationKind, type[RiverPayload | RoadPayload]] = {
    StationKind.RIVER: RiverPayload,
    StationKind.ROAD: RoadPayload,
}


class MessageValidator:
    """Validates device messages against the contract and the station registry."""

    def __init__(
        self,
        registry: StationRegistry,
        *,
        max_payload_bytes: int,
        max_future: timedelta,
        max_age: timedelta,
    ) -> None:
        self._registry = registry
        self._max_payload_bytes = max_payload_bytes
        self._max_future = max_future
        self._max_age = max_age
        # Topics already found to name a registered station of the right kind. The
        # registry is fixed for the life of the process, and only accepted topics are
        # kept, so this holds at most one entry per station whatever devices send.
        self._accepted_topics: dict[str, tuple[StationKind, str]] = {}
        self._plausible_for: datetime | None = None
        self._plausible_window = (datetime.min.replace(tzinfo=UTC),
                                  datetime.max.replace(tzinfo=UTC))

    def validate(self, topic: str, payload: bytes, received_at: datetime) -> Validated:
        """Readings from one message; raises Rejected with the reason otherwise."""
        kind, station_id = self._station_for(topic)
        if len(payload) > self._max_payload_bytes:
            raise Rejected(Reason.PAYLOAD_TOO_LARGE,
                           f"{len(payload)} bytes > {self._max_payload_bytes}")
        fast = decode_valid(kind, payload)
        if fast is not None:  # valid, and nothing in it unknown: nearly every message
            ts, from_device = self._timestamp(fast.ts, received_at)
            # Both tuples made in C (readings.reading_of says why): once per message.
            return _validated(([reading_of((station_id, kind, ts, fast.values(),
                                            "device" if from_device else "received",
                                            received_at))], []))
        if is_cbor_pack(payload):  # SenML in CBOR: ingest.senml_cbor says why by this byte
            return Validated(self._from_senml(kind, station_id, payload, received_at), [])
        body = payload.lstrip()
        if body.startswith(b"["):
            return Validated(self._from_senml(kind, station_id, body, received_at), [])
        if not body.startswith(b"{"):
            detail = "empty payload" if not body else "expected a JSON object or SenML array"
            raise Rejected(Reason.NOT_AN_OBJECT, detail)
        model = _PAYLOAD_MODELS[kind]
        try:
            parsed = model.model_validate_json(body)
        except ValidationError as exc:
            raise _rejection(exc) from exc
        self._require_observation(parsed)
        ts, from_device = self._timestamp(parsed.ts, received_at)
        reading = Reading(station_id, kind, ts, parsed.field_values(),
                          "device" if from_device else "received", received_at)
        return Validated([reading], parsed.unknown_keys)

    def _station_for(self, topic: str) -> tuple[StationKind, str]:
        accepted = self._accepted_topics.get(topic)
        if accepted is not None:
            return accepted
        parts = topic.removeprefix(bus.DEVICE.prefix).split("/")
        if not topic.startswith(bus.DEVICE.prefix) or len(parts) != 2 \
                or parts[0] not in DEVICE_KINDS:
            raise Rejected(Reason.BAD_TOPIC, f"expected {DEVICE_TOPIC_FORM}")
        kind, station_id = StationKind(parts[0]), parts[1]
        if not STATION_ID_RE.fullmatch(station_id):
            raise Rejected(Reason.BAD_TOPIC, "station id must match [a-z0-9][a-z0-9-]{0,63}")
        station = self._registry.get(station_id)
        if station is None:
            raise Rejected(Reason.UNKNOWN_STATION, f"{station_id} is not in the registry")
        if station.kind is not kind:
            raise Rejected(Reason.KIND_MISMATCH,
                           f"{station_id} is a {station.kind.value} station, not {kind.value}")
        accepted = self._accepted_topics[topic] = (kind, station_id)
        return accepted

    def _from_senml(
        self, kind: StationKind, station_id: str, body: bytes, received_at: datetime
    ) -> list[Reading]:
        try:
            pack = decode_cbor_pack(body) if is_cbor_pack(body) else senml.decode_json_pack(body)
            records = senml.parse_records(pack)
            resolved = senml.readings(senml.resolve(records), station_id, received_at)
        except ValidationError as exc:
            raise _rejection(exc, senml=True) from exc
        except senml.SenMLError as exc:
            reason = _SENML_REASONS.get(type(exc), Reason.INVALID_SENML)
            raise Rejected(reason, str(exc)) from exc
        model = _PAYLOAD_MODELS[kind]
        readings = []
        for item in resolved:
            try:
                parsed = model.model_validate({**item.values, "ts": item.ts})
            except ValidationError as exc:
                raise _rejection(exc) from exc
            self._require_observation(parsed)
            ts, _ = self._timestamp(item.ts, received_at)
            readings.append(Reading(station_id, kind, ts, parsed.field_values(),
                                    "device" if item.ts_from_device else "received",
                                    received_at))
        return readings

    @staticmethod
    def _require_observation(parsed: RiverPayload | RoadPayload) -> None:
        if isinstance(parsed, RoadPayload) and not parsed.has_observation():
            raise Rejected(Reason.MISSING_FIELD,
                           "a road reading needs water_depth_cm, surface_temp_c "
                           "or surface_state")

    def _timestamp(self, ts: Timestamp | None, received_at: datetime) -> tuple[datetime, bool]:
        if ts is None:
            return received_at, False
        if isinstance(ts, datetime):
            # msgspec's UTC is datetime.UTC itself: no conversion for the common case.
            try:
                moment = ts if ts.tzinfo is UTC else ts.astimezone(UTC)
            except OverflowError:  # 9999-12-31T23:59-01:00 is past datetime's range
                reason = Reason.FUTURE_TIMESTAMP if ts.year > 2000 else Reason.STALE_TIMESTAMP
                raise Rejected(reason, f"ts {ts.isoformat()} is outside any plausible time"
                               ) from None
        else:
            moment = datetime.fromtimestamp(ts, tz=UTC)
        oldest, newest = self._plausible(received_at)
        if moment > newest:
            raise Rejected(Reason.FUTURE_TIMESTAMP,
                           f"ts {moment.isoformat()} is ahead of the receive time "
                           f"by more than {self._max_future.total_seconds():.0f}s")
        if moment < oldest:
            raise Rejected(Reason.STALE_TIMESTAMP,
                           f"ts {moment.isoformat()} is older than {self._max_age.days} days")
        return moment, True

    def _plausible(self, received_at: datetime) -> tuple[datetime, datetime]:
        """The oldest and newest device times accepted for a message received then.

        The messages of one socket read share their receive time, so the window is
        worked out once for them all: two comparisons per message instead of two
        subtractions (a timedelta each) on ingest's hot path."""
        if received_at is not self._plausible_for:
            self._plausible_for = received_at
            self._plausible_window = (_shifted(received_at, -self._max_age),
                                      _shifted(received_at, self._max_future))
        return self._plausible_window


def _shifted(moment: datetime, by: timedelta) -> datetime:
    try:
        return moment + by
    except OverflowError:  # a receive time at the edge of datetime's range (tests only)
        return (datetime.max if by > timedelta(0) else datetime.min).replace(tzinfo=UTC)


def _rejection(exc: ValidationError, *, senml: bool = False) -> Rejected:
    first: ErrorDetails = exc.errors(include_url=False, include_input=False)[0]
    kind = first["type"]
    loc = first["loc"]
    # Union members add their type to the location ("ts.datetime"): keep the field.
    where = str(loc[0]) if loc else ""
    if senml and len(loc) >= 2:
        where = f"record {loc[0]}: {loc[1]}"
    detail = f"{where}: {first['msg']}" if where else first["msg"]
    if where == "ts":
        detail = "ts: expected ISO 8601 with an offset, or epoch seconds (2000-2100)"
    if kind == "json_invalid":
        return Rejected(Reason.INVALID_JSON, first["msg"])
    if kind == "missing":
        return Rejected(Reason.MISSING_FIELD, detail)
    if kind in ("model_type", "list_type"):
        return Rejected(Reason.NOT_AN_OBJECT, first["msg"])
    if kind in _RANGE_ERRORS:
        return Rejected(Reason.OUT_OF_RANGE, detail)
    return Rejected(Reason.INVALID_FIELD, detail)
