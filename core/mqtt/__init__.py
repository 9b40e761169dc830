"""floodwatch's one MQTT layer: every stage's broker link, and paho for the simulators.

- ``address``: ``BrokerAddress``, the one parser of broker URLs and credentials.
- ``link``: one MQTT 5 connection on the event loop, on the ``mqtt5`` codec.
- ``session``: ``MqttSession``, the persistent session every stage uses (receive with
  manual acknowledgement, publish at QoS 1, reconnect); publish-only without topics.
- ``publish_window``: ``PublishWindow``, our QoS 1 publishes in flight until PUBACK.
- ``errors``: the exceptions, which refusals are final, and the reconnect backoff.
- ``paho_client``: paho clients for publisher tools (simulated devices, tests).

Stages depend on the small interfaces in their own packages, not on these classes.
"""

from typing import TYPE_CHECKING

from floodwatch.core.mqtt.address import DEFAULT_PORTS, BrokerAddress
from floodwatch.core.mqtt.errors import (
    PERMANENT_CONNECT_FAILURES,
    BrokerAddressError,
    MalformedPacket,
    MqttError,
    PublishError,
    PublishRefused,
    backoff_delay,
)
from floodwatch.core.mqtt.link import MqttLink, ReceivedMessage
from floodwatch.core.mqtt.packets import RawPublish
from floodwatch.core.mqtt.publish_window import DEFAULT_PUBLISH_WINDOW, PublishWindow
from floodwatch.core.mqtt.session import MqttSession

if TYPE_CHECKING:
    from floodwatch.core.mqtt.paho_client import connect_properties, new_client
else:
    def __getattr__(name: str) -> object:
        """paho on first use: only publisher tools use it, and importing it took 15 ms of
        every stage's start (ingest's included), which a restart with a backlog pays."""
        if name in ("connect_properties", "new_client"):
            from floodwatch.core.mqtt import paho_client  # noqa: PLC0415

            return getattr(paho_client, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_PUBLISH_WINDOW",
    "PERMANENT_CONNECT_FAILURES",
    "BrokerAddress",
    "BrokerAddressError",
    "MalformedPacket",
    "MqttError",
    "MqttLink",
    "MqttSession",
    "PublishError",
    "PublishRefused",
    "PublishWindow",
    "RawPublish",
    "ReceivedMessage",
    "backoff_delay",
    "connect_properties",
    "new_client",
]
