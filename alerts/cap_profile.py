"""floodwatch's CAP profile (docs/cap.md): what each alert event's CAP message says
beyond the event itself -- identifier, sent, expires, msgType, scope, references,
responseType and instruction. ``alerts.cap`` writes them as CAP 1.2 XML, and the JSON
event carries the same fields (``bus.CapFieldsMessage``), from this one place.

- msgType: Alert for the first message of an alert its audience gets, Update for every
  later one, the all-clear included (with responseType AllClear; a forecast warning's
  end, which is no all-clear, Monitor). Never Cancel: in
  Japanese practice (JMA's 取消) that withdraws a message as erroneous, which only an
  officer may do (not built).
- scope: Public for what residents may be told; Restricted for staff's own messages
  (offline, data quality, an officer's acknowledgement: ``cap_restriction``) and an
  escalation no second reading has confirmed (``cap_unconfirmed_restriction``).
- references: every earlier message of the alert its audience may still hold (CAP: an
  Update supersedes what it references): a Public message every earlier Public one,
  a Restricted one every earlier message (alerts.machine keeps them, ``Chain``).
- expires = sent + the alert type's duration (``cap.expires``), the all-clear's short;
  an open alert is renewed before it lapses (alerts.renewal).
- instruction: the advice residents' posts carry (core.advice), of the level told of;
  the all-clear advice once an alert is lowered below its advice or cleared (and in a
  renewal below every advised level).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from floodwatch.alerts.cap_settings import ResponseType
from floodwatch.alerts.labels import Urgency
from floodwatch.alerts.model import STAFF_ONLY, AlertType, Event, EventRef, Transition
from floodwatch.alerts.render import shown_level
from floodwatch.alerts.rules import AlertRules
from floodwatch.core import bus, cap_ids
from floodwatch.core.advice import Advice, Text
from floodwatch.core.readings import JST

# CAP 1.2 ``certainty``: a level read off a gauge is Observed; a forecast warning is
# Likely (p > ~50 %, CAP 1.2 3.2.2) when the band's lower bound crossed (the 10 %
# quantile: ~90 % of outcomes reach the level), Possible (p <= ~50 %) when only the
# median did (a coin toss, by definition); its end Unlikely -- unless the level was
# reached (Observed).
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]

ESCALATING = {Transition.RAISED, Transition.ESCALATED, Transition.CONFIRMED,
              Transition.ACKNOWLEDGED}


def cap_time(moment: datetime) -> str:
    # CAP's dateTime allows neither "Z" nor fractions of a second.
    return moment.astimezone(JST).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class CapFields:
    """What the profile decides for one event."""

    identifier: str
    sent: datetime
    expires: datetime
    msg_type: Literal["Alert", "Update"]
    scope: Literal["Public", "Restricted"]
    restriction: str | None
    references: str | None  # "sender,identifier,sent" of each message it supersedes
    response_type: ResponseType
    urgency: Urgency
    severity: str
    instruction: Text | None
    certainty: Certainty = "Observed"
    onset: datetime | None = None  # None: the event's own time

    def onset_at(self, event: Event) -> datetime:
        return self.onset or event.at

    def message(self) -> bus.CapFieldsMessage:
        return bus.CapFieldsMessage(
            identifier=self.identifier, sent=cap_time(self.sent),
            expires=cap_time(self.expires), msg_type=self.msg_type, scope=self.scope,
            response_type=self.response_type,
            instruction=None if self.instruction is None
            else bus.LocalText(ja=self.instruction.ja, en=self.instruction.en))


class CapProfile:
    """The profile's decisions for one engine: its rules, the advice and the namespace
    of its identifiers ("{deployment_id}:{instance}", alerts.store)."""

    def __init__(self, rules: AlertRules, advice: Advice, namespace: str) -> None:
        if not cap_ids.CAP_NAMESPACE_RE.match(namespace):
            raise ValueError(f"not a CAP identifier namespace: {namespace!r}")
        self.rules = rules
        self.advice = advice
        self.namespace = namespace

    def identifier(self, event_id: str) -> str:
        return cap_ids.cap_identifier(self.namespace, event_id)

    def fields(self, event: Event) -> CapFields:
        rules = self.rules
        public = event.public
        restriction = None
        if event.alert_type in STAFF_ONLY or event.transition is Transition.ACKNOWLEDGED \
                or event.restricted:
            restriction = rules.cap_restriction
        elif not event.confirmed:
            restriction = rules.cap_unconfirmed_restriction
        referenced = _referenced(event, public=public)
        references = " ".join(",".join((rules.cap_sender, self.identifier(ref.event_id),
                                        cap_time(ref.issued))) for ref in referenced)
        cleared = event.transition is Transition.CLEARED
        level = rules.labels.level(event.alert_type, shown_level(event))
        sent = event.issued
        expiry = rules.cap.expires
        if event.handed_over:
            return self._handed_over(event, sent, restriction, referenced, references)
        return CapFields(
            identifier=self.identifier(event.event_id), sent=sent,
            expires=sent + (expiry.all_clear if cleared else expiry.of(event.alert_type)),
            msg_type="Update" if referenced else "Alert",
            scope="Public" if public else "Restricted", restriction=restriction,
            references=references or None,
            response_type=_ended(event) if cleared
            else rules.cap.response_type(event.alert_type, event.level),
            urgency="Past" if cleared else level.urgency,
            severity="Minor" if cleared else level.severity,
            instruction=self._instruction(event), **_forecast(event))

    def _handed_over(self, event: Event, sent: datetime, restriction: str | None,
                     referenced: tuple[EventRef, ...], references: str) -> CapFields:
        """A forecast warning whose level was reached: the river level alert takes over,
        so this message ends the warning without being an all-clear -- the warned
        level's response, urgency and severity (Immediate: the water is there), the
        level's advice, the fact Observed."""
        rules = self.rules
        level = rules.labels.level(event.alert_type, event.previous_level)
        return CapFields(
            identifier=self.identifier(event.event_id), sent=sent,
            expires=sent + rules.cap.expires.all_clear,
            msg_type="Update" if referenced else "Alert",
            scope="Public" if event.public else "Restricted", restriction=restriction,
            references=references or None,
            response_type=rules.cap.response_type(event.alert_type, event.previous_level),
            urgency="Immediate", severity=level.severity,
            instruction=self.advice.advice_for(event.alert_type.value, event.previous_level),
            certainty="Observed")

    def _instruction(self, event: Event) -> Text | None:
        alert_type = event.alert_type.value
        if event.transition in ESCALATING:
            return self.advice.advice_for(alert_type, event.level)
        # Lowered: the advice of the level it still holds; below every advised level
        # (or cleared), what the all-clear advises.
        lowered = None if event.transition is Transition.CLEARED \
            else self.advice.advice_for(alert_type, event.level)
        return lowered or self.advice.all_clear_for(alert_type)


def _ended(event: Event) -> ResponseType:
    """A cleared alert's responseType: AllClear -- except a forecast warning's ordinary
    end, which says only that the forecast no longer reaches the level: the river may
    still be high and its level alert open (the profile decides per event and does not
    see the station's other alerts, so never AllClear), hence Monitor: attend to the
    information sources (the level alert's own messages)."""
    return "Monitor" if event.alert_type is AlertType.FORECAST else "AllClear"


def _forecast(event: Event) -> dict[str, Any]:
    """A forecast warning's certainty and onset: Likely from the band's lower bound,
    Possible from the median (its ``detail.bound``; an event without it, Possible: the
    weaker claim), onset the expected crossing (its ``detail.expected_at``); its end
    (no longer expected) Unlikely."""
    if event.alert_type is not AlertType.FORECAST:
        return {}
    if event.transition is Transition.CLEARED:
        return {"certainty": "Unlikely"}
    expected = event.detail.get("expected_at")
    certainty: Certainty = "Likely" if event.detail.get("bound") == "low" else "Possible"
    return {"certainty": certainty,
            "onset": None if not isinstance(expected, str) else datetime.fromisoformat(expected)}


def _referenced(event: Event, *, public: bool) -> tuple[EventRef, ...]:
    """The messages this one supersedes: none when it begins its audience's account of
    the alert (a CAP Alert). The engine decides them (``Event.references``); an event
    built by hand names its audience's first message -- the raise for staff, the first
    confirmed event for the public."""
    if event.references is not None:
        return event.references
    if public:
        first = event.first_confirmed
        assert first is not None  # a confirmed event always names it (model.Event)
        return () if first.event_id == event.event_id else (first,)
    if event.transition is Transition.RAISED:
        return ()
    return (EventRef(event_id=event.alert_id, at=event.raised_at, sent=event.raise_sent),)
