"""A delivery ledger filled with alert events for the social channels, driven by a fake clock."""

from __future__ import annotations

from pathlib import Path

from floodwatch.alerts.model import Event
from floodwatch.core.registry import StationRegistry
from floodwatch.notify.channels.social import Platform, SocialSender
from floodwatch.notify.compose import Composer, fits_mastodon, fits_x
from floodwatch.notify.config import NotifyConfig, Social
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.intake import Part
from floodwatch.notify.notice import Notice, cap_event_id
from floodwatch.notify.policy import DeliveryPolicy, Route
from tests.cap_support import SHIPPED_ADVICE
from tests.notify.support import NOTIFY_CONFIG, FakeClock, bus_messages


def social_config(**overrides: object) -> Social:
    base = NotifyConfig.load(NOTIFY_CONFIG, advice=SHIPPED_ADVICE).x.model_dump()
    return Social.model_validate({**base, **overrides})


class SocialRig:
    """One social channel's delivery ledger and sender, fed with events as intake would."""

    def __init__(self, folder: Path, registry: StationRegistry, platform: Platform,
                 social: Social, clock: FakeClock) -> None:
        self.config = NotifyConfig.load(NOTIFY_CONFIG, advice=SHIPPED_ADVICE)
        self.registry = registry
        self.clock = clock
        self.ledger = DeliveryLedger(folder / "deliveries.sqlite3")
        self.route = Route(platform.name, "social", social.retry, True)
        self.policy = DeliveryPolicy(self.config.policy, [self.route], clock)
        fits = fits_mastodon if platform.name == "mastodon" else fits_x
        composer = Composer(self.config.templates, social, registry, self.config.basins,
                            fits)
        self.sender = SocialSender(self.ledger, platform, composer, config=social,
                                   registry=registry, clock=clock)

    def feed(self, events: list[Event]) -> int:
        parts: list[Part] = []
        for topic, payload in bus_messages(self.registry, events):
            station = topic.rsplit("/", 1)[-1]
            if topic.startswith("floodwatch/cap/"):
                parts.append((cap_event_id(payload), station, "cap", payload))
            else:
                parts.append((Notice.from_json(payload).event_id, station, "json", payload))
        return self.ledger.receive(parts, {}, self.clock(), self.policy.plan, 30.0)

    async def run_for(self, seconds: float, step_s: float = 1.0) -> None:
        """Let the fake clock run ``seconds``, stepping the sender as its loop would."""
        end = self.clock.now + seconds
        while self.clock.now < end:
            await self.sender.step()
            self.clock.advance(step_s)

    def states(self) -> dict[str, str]:
        return {event_id: state for (event_id, channel), state in self.ledger.states().items()
                if channel == self.route.channel}
