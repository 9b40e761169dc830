"""Storm posts when X refuses for a while (429, then reopens): the live escalation goes
first, a thread cut by the 429 keeps what was published and goes on after a new flood,
an event later than its station's newest post is never posted, and a reply refused
until its deliveries expire is given up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import requests
import responses

from tests.notify.social_support import SocialRig, social_config
from tests.notify.support import FakeClock
from tests.notify.test_x import (
    SOUTH_EVACUATE,
    TWEETS,
    TWO_BASINS,
    created,
    platform,
    storm_events,
    thread_starts,
)


@responses.activate
def test_the_live_escalation_posts_first_when_x_reopens(tmp_path: Path) -> None:
    """North one was told at danger; while X answers 429 it floods and then clears, and
    South one reaches danger: South's live escalation goes first, then North's flood
    (never hidden by its own clear), then North's all-clear."""
    clock = FakeClock()
    closed_until = [0.0]
    counter: list[int] = []

    def answer(_request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if clock.now < closed_until[0]:
            return 429, {"x-rate-limit-reset": str(int(closed_until[0]))}, "{}"
        return created(counter)

    events = storm_events({
        "n1": [0.5, 1.5, 2.5, 3.5, 4.1, 4.2, 5.2, 5.3, 4.5, 3.5, 2.5, 1.5, 0.5, 0.5, 0.5, 0.5],
        "s1": [0.5] * 9 + [1.5, 2.5, 3.5, 4.2, 4.3]})
    told_danger = next(i for i, e in enumerate(events)
                       if e.station == "n1" and e.level == 4 and e.confirmed)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    responses.add_callback(responses.POST, TWEETS, callback=answer)
    rig.feed(events[:told_danger + 1])
    asyncio.run(rig.run_for(30))
    first = thread_starts(responses.calls)
    assert len(first) == 1
    assert "北一" in first[0]
    responses.calls.reset()
    closed_until[0] = clock.now + 1200
    rig.feed(events[told_danger + 1:])
    asyncio.run(rig.run_for(1500, 10))
    texts = thread_starts(responses.calls)
    assert len(texts) == 3
    assert "南一" in texts[0]  # the live escalation
    assert "北一" in texts[1]  # then North's flood, which residents never heard of:
    assert "氾濫が発生しました" in texts[1]  # a flood stays news after its water falls
    assert "北一" in texts[2]  # then its all-clear
    assert "解除" in texts[2]
    states = rig.states()
    flooding = [e.event_id for e in events
                if e.station == "n1" and e.level == 5 and e.confirmed]
    assert [states[e] for e in flooding] == ["sent"]
    # North's unconfirmed 5 and its fall below the act level were superseded.
    assert "superseded" in states.values()


def x_closing_at_the_first_reply(clock: FakeClock) -> list[float]:
    """A fake X that publishes, until the first reply: that one and everything after it
    get 429 for ten minutes. Returns [when it reopens] (0 until it closes)."""
    closed_until = [0.0]
    counter: list[int] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "reply" in json.loads(request.body or b"{}") and not closed_until[0]:
            closed_until[0] = clock.now + 600
        if clock.now < closed_until[0]:
            return 429, {"x-rate-limit-reset": str(int(closed_until[0]))}, "{}"
        return created(counter)

    responses.add_callback(responses.POST, TWEETS, callback=answer)
    return closed_until


@responses.activate
def test_a_429_in_the_middle_of_a_thread_keeps_what_was_published_and_goes_on(
        tmp_path: Path) -> None:
    """The Japanese post is published, X refuses its English reply for ten minutes:
    the reply follows the published post when X reopens -- nothing re-posted, nothing
    re-composed -- and the delivery is sent only then."""
    clock = FakeClock()
    x_closing_at_the_first_reply(clock)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed(SOUTH_EVACUATE)
    asyncio.run(rig.run_for(300, 5))
    bodies = [json.loads(call.request.body or b"{}") for call in responses.calls]
    assert len(bodies) == 2  # the Japanese post, then its refused reply
    assert set(rig.states().values()) == {"sending"}  # not told in full yet
    asyncio.run(rig.run_for(600, 5))
    bodies = [json.loads(call.request.body or b"{}") for call in responses.calls]
    assert len(bodies) == 3
    first_id = json.loads(responses.calls[0].response.text)["data"]["id"]  # type: ignore[union-attr]
    assert bodies[2]["reply"] == {"in_reply_to_tweet_id": first_id}
    assert bodies[2]["text"] == bodies[1]["text"]  # the same reply, not re-composed
    assert bodies[0]["text"].startswith("【警戒レベル3相当】")
    assert bodies[2]["text"].startswith("[Alert level 3 equivalent]")
    assert set(rig.states().values()) == {"sent"}


@responses.activate
def test_an_event_that_reaches_notify_after_a_later_one_was_posted_is_never_posted(
        tmp_path: Path) -> None:
    """North one's flooding event arrives late (its other half held up), after its
    all-clear went out: posting it now would leave residents with a flood as the
    station's newest post. It is settled superseded."""
    counter: list[int] = []
    responses.add_callback(responses.POST, TWEETS, callback=lambda _r: created(counter))
    clock = FakeClock()
    events = storm_events({
        "n1": [0.5, 1.5, 2.5, 3.5, 4.1, 4.2, 5.2, 5.3, 4.5, 3.5, 2.5, 1.5, 0.5, 0.5, 0.5, 0.5]})
    late = next(e for e in events if e.station == "n1" and e.level == 5 and e.confirmed)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed([e for e in events if e is not late])
    asyncio.run(rig.run_for(60))
    assert "解除" in thread_starts(responses.calls)[-1]
    posted = len(responses.calls)
    rig.feed([late])
    asyncio.run(rig.run_for(60))
    assert len(responses.calls) == posted
    assert rig.states()[late.event_id] == "superseded"


@responses.activate
def test_a_reply_refused_until_its_deliveries_expire_is_given_up(tmp_path: Path) -> None:
    counter: list[int] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "reply" in json.loads(request.body or b"{}"):
            return 403, {}, json.dumps({"title": "Forbidden", "detail": "duplicate"})
        return created(counter)

    responses.add_callback(responses.POST, TWEETS, callback=answer)
    clock = FakeClock()
    rig = SocialRig(tmp_path, TWO_BASINS, platform(),
                    social_config(retry={"base_s": 5, "max_s": 60, "expire_s": 600}), clock)
    rig.feed(SOUTH_EVACUATE)
    asyncio.run(rig.run_for(900, 5))
    assert set(rig.states().values()) == {"expired"}
    assert len(counter) == 1  # the Japanese post stays; it was never posted again
    replies = [c for c in responses.calls if "reply" in json.loads(c.request.body or b"{}")]
    assert 1 < len(replies) < 30  # retried with backoff, then given up
    assert [state for state, _ in rig.sender._posts.texts("x")] == ["sent", "expired"]


@responses.activate
def test_a_new_flood_goes_before_the_rest_of_a_thread_a_429_interrupted(
        tmp_path: Path) -> None:
    """South one's level-3 post is out, X refuses its English reply; meanwhile North
    one floods. When X reopens, North's 氾濫発生 goes first, then South's reply."""
    clock = FakeClock()
    closed_until = x_closing_at_the_first_reply(clock)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed(SOUTH_EVACUATE)
    asyncio.run(rig.run_for(120, 5))
    assert closed_until[0]  # the reply was refused
    flood = storm_events({"n1": [0.5, 1.5, 2.5, 3.5, 4.3, 5.2, 5.3]})
    rig.feed(flood)
    asyncio.run(rig.run_for(900, 5))
    accepted = [json.loads(call.request.body or b"{}") for call in responses.calls
                if isinstance(call.response, requests.Response)
                and call.response.status_code == 201]
    assert "南一" in accepted[0]["text"]  # before the 429
    after = accepted[1:]
    assert "北一" in after[0]["text"]
    assert "氾濫" in after[0]["text"]
    assert "reply" not in after[0]
    assert after[-1]["text"].startswith("[Alert level 3 equivalent]")  # South's reply, last
    assert set(rig.states().values()) <= {"sent", "superseded"}
