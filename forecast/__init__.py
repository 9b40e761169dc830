"""River level forecasts: a per-gauge linear model on the gauge's trend, its upstream
gauges and rainfall, falling back to the trend (docs/forecast.md).

- ``forecast.history``: one gauge's accepted readings (``Observation``, ``GaugeHistory``).
- ``forecast.inputs``: the explainable inputs, read from histories as of a moment.
- ``forecast.trend``: the baseline, the gauge's own trend.
- ``forecast.model``: fitted models as data (``FittedModels``, JSON round trip).
- ``forecast.fit``: ``fit_models`` from a fitting period's readings.
- ``forecast.forecaster``: ``Forecaster.forecast`` -> ``Forecast`` (``forecast.issued``:
  the forecast as issued and its bus message).
- ``forecast.scores``: RMSE, NSE and warnings (crossings: ``core.crossings``).
- ``forecast.nowcast``: the hook for a rainfall nowcast.
"""
