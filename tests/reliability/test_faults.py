"""Fault tests with real processes: every reading published is stored exactly once.

Each test runs its own Mosquitto, InfluxDB and ``floodwatch ingest`` and breaks one of
them mid-stream with a signal. The books: readings the broker confirmed (PUBACK) versus
points in InfluxDB, compared by their unique level values.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from floodwatch.services.servers import InfluxServer, MosquittoServer
from tests.reliability.conftest import STATIONS
from tests.reliability.stream import SteadyStream
from tests.support import InfluxQuery, IngestProcess, wait_for


def assert_books_balance(influx: InfluxQuery, stream: SteadyStream, published: int) -> None:
    wait_for(lambda: influx.count("river", "level_m") >= published, 150,
             f"{published} readings stored")
    time.sleep(1.0)  # anything extra (a duplicate point) would show up now
    stored = influx.rows('SELECT "level_m" FROM "river"')
    levels = [float(row["level_m"]) for row in stored]
    print(f"\npublished {published}, stored {len(levels)}, "
          f"duplicates {len(levels) - len(set(levels))}")
    assert published == stream.total
    assert len(levels) == published
    assert set(levels) == stream.levels


def test_influxdb_down_for_30_seconds(
    mosquitto: MosquittoServer, own_influx: InfluxServer, rig: Callable[..., IngestProcess]
) -> None:
    ingest = rig().start()
    stream = SteadyStream(mosquitto.port, total=2400, rate=50, stations=STATIONS).start()
    time.sleep(4)
    own_influx.process.kill()  # SIGKILL: no goodbye
    time.sleep(30)
    own_influx.start()
    published = stream.finish()
    assert_books_balance(InfluxQuery(own_influx.url, "faults"), stream, published)
    assert ingest.log_events("influxdb unavailable; spooling")
    wait_for(lambda: bool(ingest.log_events("spool replayed; writing directly again")), 30,
             "the spool to drain")
    assert ingest.stop() == 0


def test_influxdb_hung_by_sigstop(
    mosquitto: MosquittoServer, own_influx: InfluxServer, rig: Callable[..., IngestProcess]
) -> None:
    ingest = rig().start()
    stream = SteadyStream(mosquitto.port, total=1000, rate=50, stations=STATIONS).start()
    time.sleep(3)
    own_influx.process.signal(signal.SIGSTOP)  # accepts connections, never answers
    time.sleep(10)
    own_influx.process.signal(signal.SIGCONT)
    published = stream.finish()
    assert_books_balance(InfluxQuery(own_influx.url, "faults"), stream, published)
    assert ingest.log_events("influxdb unavailable; spooling")
    assert ingest.stop() == 0


def test_mosquitto_restarted_mid_stream(
    mosquitto: MosquittoServer, own_influx: InfluxServer, rig: Callable[..., IngestProcess]
) -> None:
    ingest = rig().start()
    stream = SteadyStream(mosquitto.port, total=1500, rate=50, stations=STATIONS).start()
    time.sleep(5)
    mosquitto.restart()
    time.sleep(5)
    mosquitto.restart()
    published = stream.finish()
    assert_books_balance(InfluxQuery(own_influx.url, "faults"), stream, published)
    assert len(ingest.log_events("connected")) >= 3  # it came back each time
    assert ingest.stop() == 0


def test_ingest_killed_mid_batch_and_restarted(
    mosquitto: MosquittoServer, own_influx: InfluxServer, rig: Callable[..., IngestProcess]
) -> None:
    # Large, slow batches: the kill lands while one is being filled.
    first = rig(ingest_batch_size="400", ingest_batch_interval_s="3",
                 ingest_batch_pause_s="3").start()
    stream = SteadyStream(mosquitto.port, total=1500, rate=100, stations=STATIONS).start()
    time.sleep(5)
    first.stop(signal.SIGKILL)
    time.sleep(2)
    second = rig(ingest_batch_size="400", ingest_batch_interval_s="3",
                 ingest_batch_pause_s="3").start()
    published = stream.finish()
    assert_books_balance(InfluxQuery(own_influx.url, "faults"), stream, published)
    assert second.stop() == 0
