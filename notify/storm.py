"""What one social channel posts from what waits: residents are told each station's
current state, grouped so that each of them finds their own town and their own danger.

- Each station's live event per alert type is the latest one waiting (by the engine's
  ``seq``); older ones waiting for the same station and alert type are superseded --
  never posted after their successor, never posted at all (residents get the current
  state, not the history) -- except a river's 氾濫発生 whose lowering or all-clear came
  before it could be posted: both are posted, the flood first.
- Groups: one per alert type, direction (a call to act at a level, a lowering, an
  all-clear), municipality (the basin when the registry gives none) and -- for calls
  to act -- level. So a post lists only stations of the level its badge says, and a
  road closure is never folded into a river post.
- Ranking uses only live events: the most urgent group first (levels counted from each
  alert type's act level, so a road closure ranks with a river at its act level).
- Budget: a planning round spends at most half the posts left in the budget (rounded
  up), keeping the rest for the next burst. When every group's full thread fits in
  that, each group gets its own thread naming every station. Otherwise the least
  urgent groups are summarised -- one post per alert type, direction, level and basin,
  which names what fits and links the public page listing the rest -- as few as
  needed; what still does not fit waits for the budget to reopen, most urgent first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from floodwatch.core.registry import StationRegistry
from floodwatch.notify.deliveries import Delivery
from floodwatch.notify.notice import Notice

# Posts one group's thread may take (X: 280 each); past this the group is summarised.
MAX_THREAD_POSTS = 8
# notify.policy.priority of an escalation two levels above its act level (river 5).
GRAVEST = 150
# A river level no later event may hide from residents: a flood stays news after its
# water falls (氾濫発生 is posted even when its all-clear came before the post).
FLOODING = 5
PAST_FLOOD = 60  # above every lowering (4x) and all-clear (50), below escalations

Render = Callable[[Sequence[Notice], int], list[str]]  # (notices, max_posts) -> posts


@dataclass(frozen=True, slots=True)
class Waiting:
    delivery: Delivery
    notice: Notice


@dataclass
class Group:
    key: tuple[str, ...]
    live: list[Waiting] = field(default_factory=list)
    superseded: list[Waiting] = field(default_factory=list)

    @property
    def urgency(self) -> int:
        return max(item.delivery.priority for item in self.live)

    @property
    def first_id(self) -> int:
        return min(item.delivery.id for item in (*self.live, *self.superseded))

    @property
    def notices(self) -> list[Notice]:
        return [item.notice for item in self.live]


@dataclass(frozen=True, slots=True)
class PlannedThread:
    texts: list[str]
    live: list[Delivery]  # told by this thread (named, or counted and linked)
    superseded: list[Delivery]  # replaced by a live event of the same station


def direction(notice: Notice) -> str:
    return "act" if notice.escalating else notice.transition


def plan_posts(waiting: Sequence[Waiting], registry: StationRegistry, available: int,
               render: Render) -> list[PlannedThread]:
    """The threads to post now, most urgent first, within half the ``available`` posts
    (rounded up): a storm comes in bursts, and the worst -- a level 5 an hour later --
    must still find posts left in the budget's window. A round with something that
    grave in it (two levels above its act level: a river's 氾濫発生) may spend them all."""
    if available <= 0:
        return []
    if max((item.delivery.priority for item in waiting), default=0) < GRAVEST:
        available = (available + 1) // 2
    groups = sorted(_groups(waiting, registry, _scope_by_municipality),
                    key=lambda g: (-g.urgency, g.first_id))
    full = [render(group.notices, MAX_THREAD_POSTS) for group in groups]
    # The most urgent groups in full, the rest summarised by basin: as many in full as
    # the budget allows, so a storm too large for it still names the worst first.
    for in_full in range(len(groups), -1, -1):
        summaries = _summaries(groups[in_full:], registry)
        cost = sum(len(texts) for texts in full[:in_full]) + len(summaries)
        if cost <= available or in_full == 0:
            break
    planned = [PlannedThread(texts, [w.delivery for w in group.live],
                             [w.delivery for w in group.superseded])
               for group, texts in zip(groups[:in_full], full[:in_full], strict=True)]
    for summary in summaries:
        planned.append(PlannedThread(render(summary.notices, 1),
                                     [w.delivery for w in summary.live],
                                     [w.delivery for w in summary.superseded]))
    spent, kept = 0, []
    for thread in planned:  # in rank order: what does not fit now waits, urgent first
        if spent + len(thread.texts) > available:
            break
        kept.append(thread)
        spent += len(thread.texts)
    return kept


def _summaries(groups: list[Group], registry: StationRegistry) -> list[Group]:
    waiting = [item for group in groups for item in (*group.live, *group.superseded)]
    return sorted(_groups(waiting, registry, _scope_by_basin),
                  key=lambda g: (-g.urgency, g.first_id))


def _scope_by_municipality(notice: Notice, registry: StationRegistry) -> str:
    station = registry.get(notice.station)
    if station is None:
        return f"station:{notice.station}"
    if station.municipality is not None:
        return f"municipality:{station.municipality}"
    return f"basin:{station.basin}"


def _scope_by_basin(notice: Notice, registry: StationRegistry) -> str:
    station = registry.get(notice.station)
    return f"basin:{station.basin}" if station is not None else f"station:{notice.station}"


def _groups(waiting: Sequence[Waiting], registry: StationRegistry,
            scope: Callable[[Notice, StationRegistry], str]) -> list[Group]:
    by_slot: dict[tuple[str, str], list[Waiting]] = defaultdict(list)
    for item in sorted(waiting, key=lambda w: w.notice.seq):
        by_slot[(item.notice.station, item.notice.alert_type)].append(item)
    groups: dict[tuple[str, ...], Group] = {}
    live_items: list[tuple[Waiting, list[Waiting]]] = []
    for items in by_slot.values():
        *older, latest = items
        floods = [w for w in older if direction(w.notice) == "act"
                  and w.notice.alert_type == "river_level" and w.notice.level >= FLOODING]
        if floods and direction(latest.notice) != "act":
            flood = floods[-1]
            # Told after every live escalation (people must act there now), before
            # any all-clear: it is past, its clear follows it.
            late = Waiting(replace(flood.delivery, priority=PAST_FLOOD), flood.notice)
            live_items.append((late, [w for w in older if w is not flood]))
            live_items.append((latest, []))
        else:
            live_items.append((latest, older))
    for item, superseded in sorted(live_items, key=lambda pair: pair[0].delivery.id):
        notice = item.notice
        key: tuple[str, ...] = (notice.alert_type, direction(notice), scope(notice, registry))
        if direction(notice) == "act":
            key += (str(notice.level),)
        group = groups.setdefault(key, Group(key))
        group.live.append(item)
        group.superseded.extend(superseded)
    return list(groups.values())
