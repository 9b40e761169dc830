"""Which event goes to which channel, how urgent it is, and when it stops being worth
sending.

- The disaster network (and webhooks with ``events: all``) get every event, updates and
  clears included: officers need the whole picture.
- Social media (and webhooks with ``events: social``) get only what asks residents to
  act -- an alert raised or escalated to at least ``policy.act_levels[alert_type]`` --
  and the all-clear of an alert residents were told about: its fall below that level,
  and its final clear. Never an event the engine marks unconfirmed (``confirmed``
  false, or absent): an escalation reaches residents once a second reading confirms
  it, as its ``confirmed`` event -- unless they already heard of that level (the
  ledger's last event of the alert on that channel is at it or above).
- Both are judged against what residents heard on that channel (the ledger), not the
  event's ``previous_level``: a fall from a level only officers saw (an unconfirmed
  escalation) is no news to residents who already heard the alert fall below the act
  level.
- Never a forecast warning (``forecast``), whatever ``act_levels`` says: residents have
  no wording for one yet; it reaches them only as Public CAP, when the alert rules make
  it public.
- Priority: escalations first, higher levels (counted from the alert type's act level)
  before lower; all-clears after them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from floodwatch.core.edxl import EnvelopeError, is_public
from floodwatch.notify.config import FORECAST, Policy, Retry
from floodwatch.notify.deliveries import DeliveryLedger, Planned, StoredEvent
from floodwatch.notify.notice import Notice, NoticeError

log = structlog.get_logger("notify.policy")

# public: only events whose CAP is Public (an EDXL-DE webhook: partners relay to residents)
Audience = Literal["all", "social", "public"]


@dataclass(frozen=True, slots=True)
class Route:
    """A channel as the policy sees it."""

    channel: str
    audience: Audience
    retry: Retry
    needs_json: bool  # social posts are composed from the event's JSON


def priority(notice: Notice, act_level: int | None = None) -> int:
    """``act_level``: the alert type's act level. Escalations are then ranked by their
    distance from it -- a road closure (act level 2) ranks with a river at its act
    level (3), not below every river call to evacuate."""
    if notice.escalating:
        relative = notice.level if act_level is None else notice.level - act_level + 3
        return 100 + 10 * relative
    if notice.transition == "cleared":
        return 50
    return 40 + notice.level


class DeliveryPolicy:
    """Plans an alert event's deliveries: which channels get it, how urgent it is, and
    until when it is worth sending (see the module's rules)."""

    def __init__(self, policy: Policy, routes: list[Route],
                 clock: Callable[[], float]) -> None:
        self._policy = policy
        self._routes = routes
        self._clock = clock

    def for_residents(self, notice: Notice, told: Callable[[], int | None]) -> bool:
        """``told``: the level residents last heard of this alert on the channel (None:
        they never heard of it)."""
        act = self._policy.act_levels.get(notice.alert_type)
        # A renewal keeps a CAP message from lapsing: no news to post. A forecast
        # warning: no residents' wording for one yet (notify.config).
        if act is None or not notice.confirmed or notice.transition == "renewed" \
                or notice.alert_type == FORECAST:
            return False
        if notice.transition == "confirmed":
            last = told()
            return notice.level >= act and (last is None or last < notice.level)
        if notice.escalating:
            return notice.level >= act
        if not self._policy.all_clear:
            return False
        if notice.transition == "deescalated":
            last = told()
            return last is not None and last >= act > notice.level
        return notice.transition == "cleared" and told() is not None

    def plan(self, event: StoredEvent, ledger: DeliveryLedger) -> list[Planned]:
        notice: Notice | None = None
        if event.json is not None:
            try:
                notice = Notice.from_json(event.json)
            except NoticeError as exc:
                log.error("alert event not understood; only forwarded as received",
                          event_id=event.event_id, error=str(exc))
        if event.json is None or event.cap is None:
            log.warning("alert event incomplete after the pair timeout",
                        event_id=event.event_id, json=event.json is not None,
                        cap=event.cap is not None)
        now = self._clock()
        planned = []
        for route in self._routes:
            if route.needs_json and notice is None:
                continue
            if route.audience == "public" and not _public(event):
                continue
            if route.audience == "social":
                if notice is None:
                    continue
                def told(channel: str = route.channel, alert: str = notice.alert_id
                         ) -> int | None:
                    return ledger.announced_level(alert, channel)
                if not self.for_residents(notice, told):
                    continue
            urgency = 0 if notice is None else priority(
                notice, self._policy.act_levels.get(notice.alert_type))
            alert_id = notice.alert_id if notice is not None else event.event_id
            planned.append(Planned(route.channel, urgency, now + route.retry.expire_s,
                                   alert_id))
        return planned


def _public(event: StoredEvent) -> bool:
    try:
        return event.cap is not None and is_public(event.cap)
    except EnvelopeError:
        return False
