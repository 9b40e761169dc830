"""The device contract's SenML measures: what each is stored as, and the units it accepts.

Every unit here is a SenML unit symbol: m, V, Cel and K from the IANA SenML Units
registry (RFC 8428 §12.1), mm, cm and mV from the secondary units of RFC 8798 (scaled
forms of m and V, which a recipient takes where its application says so: this contract
does). A unit is accepted only where the conversion to the stored unit is exact
arithmetic; anything else -- a rate such as mm/h, a ratio such as %RH, or no unit at all
-- is refused, because a level guessed in the wrong unit is a level metres off.

Each conversion is one IEEE operation (multiply or divide by a power of ten, or subtract
273.15), so a value is rounded once and 321 cm is stored as exactly the 3.21 m a JSON
device would have sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

Convert = Callable[[float], float]


def _same(value: float) -> float:
    return value


def _times(factor: int) -> Convert:
    return lambda value: value * factor


def _divided_by(divisor: int) -> Convert:
    return lambda value: value / divisor


def _kelvin_to_celsius(value: float) -> float:
    return value - 273.15


@dataclass(frozen=True, slots=True)
class Measure:
    """One SenML name of the contract and how its records become a stored field."""

    field: str
    # SenML unit -> (conversion to the stored unit, as the README shows it); empty for a
    # string value (vs), whose unit, if any, is not used.
    units: Mapping[str, tuple[Convert, str]]

    @property
    def numeric(self) -> bool:
        return bool(self.units)


_AS_IS = (_same, "as is")

MEASURES: Mapping[str, Measure] = {
    "level": Measure("level_m", {
        "m": _AS_IS,
        "cm": (_divided_by(100), "÷ 100"),
        "mm": (_divided_by(1000), "÷ 1000"),
    }),
    "rain": Measure("rain_mm", {
        "mm": _AS_IS,
        "cm": (_times(10), "× 10"),
    }),
    "battery": Measure("battery_v", {
        "V": _AS_IS,
        "mV": (_divided_by(1000), "÷ 1000"),
    }),
    "water_depth": Measure("water_depth_cm", {
        "cm": _AS_IS,
        "m": (_times(100), "× 100"),
        "mm": (_divided_by(10), "÷ 10"),
    }),
    "surface_temp": Measure("surface_temp_c", {
        "Cel": _AS_IS,
        "K": (_kelvin_to_celsius, "− 273.15"),
    }),
    "surface_state": Measure("surface_state", {}),
}


class UnitError(ValueError):
    """A unit the measure cannot be converted from (or none where one is needed)."""


def convert(measure: str, unit: str | None, value: float) -> float:
    """The value in the stored field's unit; raises UnitError if it cannot be converted."""
    units = MEASURES[measure].units
    conversion = units.get(unit) if unit is not None else None
    if conversion is None:
        accepted = ", ".join(units)
        given = "no unit (u or bu)" if unit is None else f"unit {unit!r}"
        raise UnitError(f"{measure} given in {given}; accepted: {accepted}")
    return conversion[0](value)


def markdown_table() -> str:
    """The README's table of measures and units, from this module's own table."""
    lines = ["| SenML name | value | stored as | units accepted (conversion) |",
             "| --- | --- | --- | --- |"]
    for name, measure in MEASURES.items():
        if not measure.numeric:
            lines.append(f"| `{name}` | `vs` (string) | `{measure.field}` | any or none "
                         "(not used) |")
            continue
        units = ", ".join(f"`{unit}` ({text})" for unit, (_, text) in measure.units.items())
        lines.append(f"| `{name}` | `v` (number) | `{measure.field}` | {units} |")
    return "\n".join(lines)
