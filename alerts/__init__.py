"""The alert engine: validated readings in, alert events out (``floodwatch alerts``).

- ``alerts.rules`` / ``alerts.labels``: the rules file (thresholds, labels), checked at start.
- ``alerts.engine``: the pure evaluation (``machine``, ``river``, ``road``, ``quality``).
- ``alerts.store``: SQLite state, event publications and history queue;
  ``alerts.processor`` the bus loop, ``alerts.outbox`` what it publishes;
  ``alerts.history`` InfluxDB; ``alerts.render`` / ``alerts.cap`` the output.
- ``alerts.service``: the process, and the ``check`` the stage table runs it by.

Documented in docs/alerts.md.
"""
