"""Fitted models: every gauge's per-lead linear model, as data the stage saves and loads.

A ``GaugeModel`` predicts the level CHANGE from the issue time at each lead time as
``intercept[lead] + sum(weights[lead][i] * input[i])`` over its ``inputs``
(forecast/inputs.py), with the band from the fit's residuals: at each lead the 10 % and
90 % quantiles of the residual divided by the forecast's spread (``spread``). A gauge
has up to two: ``full`` (its own readings, rain and its upstream gauges) and ``local``
(without the upstream gauges, for when one of them is silent). ``FittedModels`` holds
every gauge's, when they were fitted, and why a gauge has none.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from floodwatch.forecast.inputs import InputSpec

LEADS_MIN: tuple[int, ...] = tuple(range(10, 181, 10))

# The spread that scales a forecast's band: SPREAD_FLOOR_M plus the size of the gauge's
# rise over the last hour plus the size of the change forecast at that lead. A river at
# rest gets a narrow band, a river in flood a wide one (docs/forecast.md).
SPREAD_FLOOR_M = 0.05


def spread_m(last_hour_rise_m: float, change_m: float) -> float:
    return SPREAD_FLOOR_M + abs(last_hour_rise_m) + abs(change_m)


class Link(BaseModel):
    """What the fit learned between a gauge and one of its upstream gauges."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    upstream: str
    travel_s: float  # the lag of the best cross-correlation of 30-minute level changes
    gain: float  # metres here per metre there, at that lag
    correlation: float


class GaugeModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    inputs: list[InputSpec]
    intercepts: list[float]  # per lead (LEADS_MIN order), metres
    weights: list[list[float]]  # per lead, per input: metres per unit of the input
    low_quantiles: list[float]  # per lead: residual / spread, 10 %
    high_quantiles: list[float]  # per lead: residual / spread, 90 %
    mid_quantiles: list[float]  # per lead: residual / spread, 50 %
    samples: int  # training samples
    rmse_m: list[float]  # per lead, in-sample


class StationModels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    full: GaugeModel | None = None  # with the upstream gauges
    local: GaugeModel | None = None  # without them
    # ``full`` (or ``local``) plus the rain a nowcast expects; used only when the stage
    # has a nowcast and it answers for this gauge (forecast/nowcast.py).
    nowcast: GaugeModel | None = None
    links: list[Link] = []
    # Set when a refit kept these models from an earlier fit (its window gave the gauge
    # none, e.g. no storm: forecast/acceptance.py): when they were fitted. None: with
    # the others, at ``FittedModels.fitted_at``.
    fitted_at: AwareDatetime | None = None


class FittedModels(BaseModel):
    """Every river gauge's fitted models (``gauges``) or the reason it has none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fitted_at: AwareDatetime
    gauges: dict[str, StationModels] = {}
    no_model: dict[str, str] = {}  # station -> reason, e.g. too little rising water

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes) -> FittedModels:
        return cls.model_validate_json(data)
