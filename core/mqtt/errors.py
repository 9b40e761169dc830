"""What can go wrong with MQTT, and when to try again.

A few precise exceptions (aiomqtt's convention), every one an ``MqttError``, so a
stage's command catches one type at its edge and prints one line; ``raise ... from``
keeps the socket or codec error underneath. Which refusals are final, and how long to
wait before trying a broker again.
"""

from __future__ import annotations

import random


class MqttError(Exception):
    """The broker refused us, or could not be reached in time."""


class BrokerAddressError(MqttError, ValueError):
    """A broker URL (or CA file) that cannot be used; the message says what is wrong and
    never contains the password. Also a ValueError, so a pydantic validator reports it
    as one line naming the setting."""


class PublishError(MqttError):
    """The publish could not even be queued (bad topic, no packet id left)."""


class MalformedPacket(MqttError):
    """The broker sent bytes that are not an MQTT 5 packet. Whatever the codec raised
    underneath (a ValueError, or a Rust panic, which is a BaseException) is its
    ``__cause__``; the connection it came on cannot be trusted any further."""


class PublishRefused(MqttError):
    """The broker answered a publish with a failure reason code (0x80 or above, e.g. not
    authorised for that topic): sending it again cannot help."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"broker refused the publish to {topic}: {reason}")
        self.topic = topic
        self.reason = reason


# CONNACK reason codes after which retrying with the same settings cannot succeed.
PERMANENT_CONNECT_FAILURES = {
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x8C: "bad authentication method",
}


def backoff_delay(attempt: int, min_delay_s: float, max_delay_s: float) -> float:
    """Capped exponential backoff with jitter, so a fleet of workers does not reconnect in
    lockstep after a broker restart (``attempt`` counts from 1)."""
    ceiling = min(max_delay_s, min_delay_s * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
