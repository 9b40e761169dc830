"""Deliveries brought to a given state through the delivery ledger's own methods (the
calls notify makes), for tests that read what the ledger records: its status lines (the
API's ``alert_delivery``) or its state counts (metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.notify.deliveries import Delivery, DeliveryLedger, Planned, StoredEvent
from floodwatch.notify.status import StatusLines

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One delivery: ``state`` pending (never tried), failed (retrying later), sent,
    expired or unknown (the outcome lost in a crash)."""

    event_id: str
    channel: str
    state: str
    at: float  # epoch seconds of the outcome
    alert_id: str = ""  # default: the event's own id

    @property
    def station(self) -> str:
        return self.event_id.partition("/")[0]


def record(ledger: DeliveryLedger, outcomes: list[Outcome]) -> None:
    """Plan each event's deliveries 2 s before its first outcome, and settle each, in
    time order (the ledger's status times only move forward, as in a real process)."""
    by_event: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_event.setdefault(outcome.event_id, []).append(outcome)
    steps: list[tuple[float, int, Outcome | list[Outcome]]] = [
        (min(o.at for o in planned) - 2, 0, planned) for planned in by_event.values()]
    steps += [(o.at, 1, o) for o in outcomes if o.state != "pending"]
    for at, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        if isinstance(step, list):
            _plan(ledger, step, at)
        else:
            delivery = next(d for d in ledger.due(step.channel, at, limit=100_000)
                            if d.event_id == step.event_id)
            _settle(ledger, delivery, step)


def _plan(ledger: DeliveryLedger, planned: list[Outcome], at: float) -> None:
    def plan(_: StoredEvent, __: DeliveryLedger) -> list[Planned]:
        return [Planned(o.channel, 1, o.at + DAY_S, o.alert_id or o.event_id)
                for o in planned]

    ledger.receive([(planned[0].event_id, planned[0].station, "json", b"{}")], {}, at,
                   plan, pair_timeout_s=0)


def _settle(ledger: DeliveryLedger, delivery: Delivery, outcome: Outcome) -> None:
    ledger.begin([delivery])
    if outcome.state == "failed":
        ledger.finish([delivery], "failed", "HTTP 503", outcome.at, retry_at=outcome.at + 60)
    elif outcome.state == "unknown":
        ledger.finish([delivery], "unknown", "outcome lost; check the account", outcome.at)
    else:
        ledger.finish([delivery], "sent" if outcome.state == "sent" else "expired", "",
                      outcome.at)


def status_lines(ledger: DeliveryLedger) -> list[str]:
    """Every ``alert_delivery`` line the ledger queued, oldest first."""
    return StatusLines(ledger.db).batch(100_000)[1]
