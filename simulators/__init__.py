"""Simulated field devices: river gauges and road sensors for tests, demos and benchmarks.

The pieces, each documented in its module:

- ``simulators.scenario``: scenario files (YAML in ``simulators/scenarios/``: ``calm``,
  ``typhoon``, ``typhoon-coast``, ``rainband``, ``winter-ice``), validated strictly.
- ``simulators.rainfall``: rain over the basin (areas with hyetographs, moving storms),
  at each gauge's mast and averaged over each river gauge's catchment.
- ``simulators.jitter``: the weather a seed draws within a scenario's bounds.
- ``simulators.hydrology``: the river model (soil moisture and losses, linear
  reservoirs, lag-and-route) that turns rain into flows; ``simulators.stage``: flows into
  levels (H-Q rating curves, levee crests).
- ``simulators.roads``: underpass ponding, surface temperature and surface state.
- ``simulators.devices``: the instruments (noise, tipping bucket, battery).
- ``simulators.faults`` and ``simulators.injector``: device faults and their effects.
- ``simulators.simulation``: all of it as a pure, deterministic generator of
  ``Event(sim_time, device, topic, payload)``; no broker involved.
- ``simulators.replay`` (a recorded CSV) and ``simulators.load`` (benchmark load).
- ``simulators.clock``, ``simulators.publisher``, ``simulators.runner``: pacing and
  publishing over MQTT (QoS 1, every PUBACK awaited).
- ``simulators.cli``: the ``floodwatch simulate`` command line; ``simulators.cli_options``
  checks its options.

Entry points for other code: ``runner.run_scenario``, ``runner.run_load``, and
``simulation.Simulation`` (or ``replay.replay_events``) for events without a broker.
"""
