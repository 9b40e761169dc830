"""The disaster-network channel on its own against real brokers: what ``start`` reports,
and when a delivery counts -- the broker's PUBACK, even one that comes after a reconnect,
but not a refusal, not a PUBACK that never comes, not a broker that is away."""

from __future__ import annotations

import asyncio

import pytest

from floodwatch.core.mqtt import BrokerAddress
from floodwatch.notify.channels import network
from floodwatch.notify.channels.base import DeliveryError
from floodwatch.notify.channels.network import NetworkChannel
from floodwatch.notify.config import Network
from floodwatch.notify.deliveries import StoredEvent
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.brokers import FaultyLink, LockedBroker
from tests.support import collect

EVENT = StoredEvent("sukagawa/1", "sukagawa", json=b'{"event_id": "sukagawa/1"}',
                    cap=b"<alert/>")


def channel(url: str, *, prefix: str = "net") -> NetworkChannel:
    config = Network(cap_topic=f"{prefix}/cap/{{station}}",
                     json_topic=f"{prefix}/json/{{station}}",
                     status_topic=f"{prefix}/status/{{station}}")
    return NetworkChannel(BrokerAddress.from_url(url), f"network-{prefix}", config)


def test_an_unreachable_broker_is_reported_and_deliveries_fail_until_it_is_back() -> None:
    port = free_port()

    async def scenario() -> tuple[str | None, str]:
        unreachable = channel(f"mqtt://127.0.0.1:{port}")
        problem = await unreachable.start(timeout_s=0.5)
        with pytest.raises(DeliveryError) as caught:
            await unreachable.deliver(EVENT)
        await unreachable.close()
        return problem, caught.value.detail

    problem, detail = asyncio.run(scenario())
    assert problem == (f"broker mqtt://127.0.0.1:{port} unreachable; deliveries wait and "
                       "are retried")
    assert detail == f"not connected to mqtt://127.0.0.1:{port}"


def test_a_refusing_broker_is_reported_in_one_line(locked_broker: LockedBroker) -> None:
    async def scenario() -> str | None:
        refused = channel(locked_broker.url("guess"))
        problem = await refused.start(timeout_s=5)
        await refused.close()
        return problem

    port = locked_broker.server.port
    assert asyncio.run(scenario()) == (
        f"broker mqtt://station@127.0.0.1:{port} refused the connection: not authorized; "
        "deliveries wait and are retried")


def test_a_delivery_the_broker_refuses_is_a_delivery_error(
    locked_broker: LockedBroker,
) -> None:
    async def scenario() -> tuple[str | None, str, str]:
        allowed = channel(locked_broker.url(), prefix="allowed")
        denied = channel(locked_broker.url(), prefix="denied")
        problems = (await allowed.start(timeout_s=5)) or (await denied.start(timeout_s=5))
        detail = await allowed.deliver(EVENT)
        with pytest.raises(DeliveryError) as caught:
            await denied.deliver(EVENT)
        await allowed.close()
        await denied.close()
        return problems, detail, caught.value.detail

    problems, detail, refusal = asyncio.run(scenario())
    assert problems is None
    assert detail == "published to allowed/cap/sukagawa, allowed/json/sukagawa"
    assert refusal.startswith("broker refused the publish to denied/")
    assert refusal.endswith(": NOT_AUTHORIZED")


def test_no_puback_in_time_is_a_delivery_error(
    mosquitto: MosquittoServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(network, "PUBACK_TIMEOUT_S", 0.5)

    async def scenario() -> tuple[str, str]:
        async with FaultyLink(mosquitto.port) as link:
            silent = channel(f"mqtt://127.0.0.1:{link.port}")
            assert await silent.start(timeout_s=5) is None
            reconnected = asyncio.Event()
            silent.on_connected = reconnected.set
            link.swallow_from_broker = True
            with pytest.raises(DeliveryError) as caught:
                await silent.deliver(EVENT)
            link.swallow_from_broker = False
            link.drop_connections()  # once the connection is back, deliveries count
            await asyncio.wait_for(reconnected.wait(), 10)
            again = await silent.deliver(EVENT)
            await silent.close()
        return caught.value.detail, again

    detail, again = asyncio.run(scenario())
    assert detail.startswith("no PUBACK from mqtt://127.0.0.1:")
    assert detail.endswith(" within 0.5 s")
    assert again == "published to net/cap/sukagawa, net/json/sukagawa"


def test_a_puback_after_a_reconnect_still_counts(mosquitto: MosquittoServer) -> None:
    """The connection drops after the broker got the messages but before we heard its
    PUBACKs: they are resent on the next connection and the delivery counts (once,
    instead of failing and being sent again by the dispatcher)."""
    async def scenario() -> tuple[str, int, int]:
        connects = 0

        def connected() -> None:
            nonlocal connects
            connects += 1

        async with FaultyLink(mosquitto.port) as link:
            resent = channel(f"mqtt://127.0.0.1:{link.port}")
            assert await resent.start(timeout_s=5) is None
            resent.on_connected = connected
            with collect(mosquitto.port, "net/#") as got:
                link.swallow_from_broker = True
                delivery = asyncio.create_task(resent.deliver(EVENT))
                while got.count() < 2:  # noqa: ASYNC110 - the collector is a thread
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.2)
                assert not delivery.done()
                link.swallow_from_broker = False
                link.drop_connections()
                detail = await asyncio.wait_for(delivery, network.PUBACK_TIMEOUT_S)
                # The broker acknowledges the resent messages before it forwards them
                # to the collector: give the copies a moment to arrive (or not).
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 5
                while got.count() < 4 and loop.time() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            await resent.close()
        return detail, got.count(), connects

    detail, received, connects = asyncio.run(scenario())
    assert detail == "published to net/cap/sukagawa, net/json/sukagawa"
    assert received == 4  # both messages, and both again after the reconnect
    assert connects == 1  # on_connected: waiting retries go now
