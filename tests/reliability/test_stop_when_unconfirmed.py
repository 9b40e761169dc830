"""Stopping ingest while the broker has stopped confirming its publishes.

The broker keeps delivering readings but hears nothing back (a half-dead link: the
client-to-broker direction of a proxy is cut), so ingest's bus publishes fill their
window and the receiver waits for room. A SIGTERM must still end the process within its
shutdown grace -- not hang until someone kills it -- and nothing may be lost: what was
not acknowledged is redelivered to the next ingest.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from floodwatch.ingest.service import SHUTDOWN_GRACE_S
from floodwatch.services.servers import InfluxServer, MosquittoServer
from tests.reliability.conftest import STATIONS
from tests.reliability.stream import SteadyStream
from tests.reliability.test_faults import assert_books_balance
from tests.support import InfluxQuery, IngestProcess


class OneWayProxy:
    """Forwards TCP to the broker; ``cut`` drops what clients send from then on, while
    what the broker sends still arrives."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
            for source, target, outbound in ((client, upstream, True),
                                             (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(source, target, outbound),
                                 daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, outbound: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (outbound and self.cut.is_set()):
                    target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                end.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def proxy(mosquitto: MosquittoServer) -> Iterator[OneWayProxy]:
    forwarder = OneWayProxy(mosquitto.port)
    yield forwarder
    forwarder.close()


def test_sigterm_while_the_broker_confirms_nothing_ends_within_the_grace(
    mosquitto: MosquittoServer, own_influx: InfluxServer, proxy: OneWayProxy,
    rig: Callable[..., IngestProcess],
) -> None:
    first = rig(mqtt_url=f"mqtt://127.0.0.1:{proxy.port}").start()
    proxy.cut.set()
    # More readings than the publish window (core.mqtt.publish_window: at most 10,000): the
    # receiver must wait.
    stream = SteadyStream(mosquitto.port, total=12_000, rate=3000, stations=STATIONS).start()
    published = stream.finish()
    time.sleep(3)

    started = time.monotonic()
    assert first.stop(timeout_s=SHUTDOWN_GRACE_S + 45) == 0
    print(f"\nstopped {time.monotonic() - started:.1f} s after SIGTERM")
    assert first.log_events("stopping with unstored readings; the broker will redeliver them")

    second = rig().start()  # straight to the broker: everything unacknowledged comes again
    assert_books_balance(InfluxQuery(own_influx.url, "faults"), stream, published)
    assert second.stop() == 0
