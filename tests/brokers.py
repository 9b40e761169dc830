"""Brokers for the MQTT layer's tests: one that checks who connects and what they may
publish (a password file and an ACL, as the deployment's), and a link to a broker that
fails on demand."""

from __future__ import annotations

import asyncio
import getpass
import subprocess
from dataclasses import dataclass
from pathlib import Path

from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer

# Characters that must be percent-encoded in a URL: the parser has to decode them.
STATION_PASSWORD = "p@ss:w/rd"
STATION_PASSWORD_IN_URL = "p%40ss%3Aw%2Frd"


@dataclass
class LockedBroker:
    """``station`` may publish and read ``allowed/#`` only; nobody anonymous."""

    server: MosquittoServer

    @classmethod
    def start(cls, folder: Path) -> LockedBroker:
        folder.mkdir(parents=True, exist_ok=True)
        passwd = folder / "passwd"
        passwd.touch()
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), "station", STATION_PASSWORD],
                       check=True)
        acl = folder / "acl"
        acl.write_text("user station\ntopic readwrite allowed/#\n")
        server = MosquittoServer(free_port(), folder / "locked")
        server.config_file.parent.mkdir()
        server.config_file.write_text(
            f"listener {server.port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {passwd}\nacl_file {acl}\nuser {getpass.getuser()}\n")
        server.start()
        return cls(server)

    def url(self, password: str = STATION_PASSWORD_IN_URL) -> str:
        return f"mqtt://station:{password}@127.0.0.1:{self.server.port}"


class FaultyLink:
    """A TCP relay to a real broker, on the test's event loop. ``swallow_from_broker``
    drops what the broker sends (its PUBACKs never arrive, while it does get and
    forward our publishes); ``drop_connections`` cuts every connection, so the client
    reconnects."""

    def __init__(self, broker_port: int) -> None:
        self._broker_port = broker_port
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.swallow_from_broker = False
        self.port = 0

    async def __aenter__(self) -> FaultyLink:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.drop_connections()
        await self._server.wait_closed()
        await asyncio.sleep(0.05)  # let the relays see their ends closed

    def drop_connections(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        broker_reader, broker_writer = await asyncio.open_connection(
            "127.0.0.1", self._broker_port)
        self._writers += [client_writer, broker_writer]
        await asyncio.gather(self._pipe(client_reader, broker_writer, from_broker=False),
                             self._pipe(broker_reader, client_writer, from_broker=True))

    async def _pipe(self, source: asyncio.StreamReader, target: asyncio.StreamWriter, *,
                    from_broker: bool) -> None:
        try:
            while data := await source.read(65536):
                if not (from_broker and self.swallow_from_broker):
                    target.write(data)
                    await target.drain()
        except OSError:
            pass  # the other side went away: close ours too
        finally:
            target.transport.abort()
