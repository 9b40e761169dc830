"""Residents' posts through Composer.thread: where, what, when and the advice in every
post; every station named or counted with the link; within X's weighted 280 and
Mastodon's 500; short names before anything is cut; English kept as a reply."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from floodwatch.core.registry import Names
from floodwatch.notify.compose import Composer, cut_name, fits_mastodon, fits_x
from floodwatch.notify.notice import Notice
from tests.notify.notices import (
    PUBLIC_PAGE,
    composer,
    gauge,
    notice,
    registry_of,
    river_notice,
    sample_registry,
)

ADVICE_4 = ("危険な場所から全員避難してください。", "Everyone evacuate from danger zones.")
MORE = re.compile(r"ほか(\d+)地点")


def long_names(count: int) -> list[Names]:
    """Official names of 30-40 characters, as some MLIT gauges have."""
    return [Names(ja=f"阿武隈川水系阿武隈川上流第{index}号水位観測地点" + "中" * (index % 10),
                  en=f"Abukuma River upper reach water level gauge number {index}"
                     + " east" * (index % 4))
            for index in range(count)]


def storm(count: int) -> tuple[Composer, list[Notice]]:
    registry = registry_of([gauge(i, name) for i, name in enumerate(long_names(count))])
    notices = [river_notice(registry, f"r-{i:03d}", 4, 4.0 + i / 100, minutes=i % 7)
               for i in range(count)]
    return composer(registry), notices


def accounted(posts: list[str], notices: list[Notice], composer: Composer) -> int:
    """Stations named in the Japanese posts plus those a summary counts."""
    named = 0
    for item in notices:
        station = composer.registry.get(item.station)
        assert station is not None
        names = [station.name.ja, *([station.short_name.ja] if station.short_name else [])]
        named += any(name in post for post in posts for name in names)
    counted = sum(int(found) for post in posts for found in MORE.findall(post))
    return named + counted


def test_one_gauge_says_where_what_when_and_what_to_do() -> None:
    registry = sample_registry()
    item = river_notice(registry, "sukagawa", 4, 5.31)
    assert composer(registry).thread([item]) == [
        "【警戒レベル4相当】阿武隈川の須賀川観測所（須賀川市）の水位が12月7日 08:00に氾濫危険水位"
        "（5.31m）に到達しました。水位は上昇中です。危険な場所から全員避難してください。"]
    assert composer(registry, "mastodon").thread([item]) == [
        "【警戒レベル4相当】阿武隈川の須賀川観測所（須賀川市）の水位が12月7日 08:00に氾濫危険水位"
        "（5.31m）に到達しました。水位は上昇中です。危険な場所から全員避難してください。\n\n"
        "[Alert level 4 equivalent] Abukuma River at Sukagawa (Sukagawa City) reached the "
        "flood danger level (5.31 m) at 08:00 on 7 Dec, rising. Everyone evacuate from "
        "danger zones."]


def test_forty_long_named_gauges_every_post_advises_and_names_them_all() -> None:
    compose, notices = storm(40)
    posts = compose.thread(notices, max_posts=40)
    japanese = [post for post in posts if post.startswith("【")]
    english = posts[len(japanese):]  # Japanese first, then English replies
    assert len(japanese) < 40  # several gauges a post
    assert all(fits_x(post) for post in posts)
    assert all(ADVICE_4[0] in post for post in japanese)
    assert english
    assert all(post.startswith("[Alert level 4 equivalent] ") for post in english)
    assert all(ADVICE_4[1] in post for post in english)
    assert "ほか" not in "".join(posts)  # no summary needed with room for the thread
    assert accounted(japanese, notices, compose) == 40
    assert all(post.startswith("【警戒レベル4相当】須賀川市で") for post in japanese)


def test_forty_gauges_in_one_post_summarise_with_the_count_and_the_link() -> None:
    compose, notices = storm(40)
    [post] = compose.thread(notices, max_posts=1)
    assert fits_x(post)
    assert ADVICE_4[0] in post
    assert post.endswith(f"\n{PUBLIC_PAGE}?alert_type=river_level&level=4")
    assert accounted([post], notices, compose) == 40
    assert MORE.search(post)


def test_mixed_levels_badge_the_lowest_or_above() -> None:
    compose, notices = storm(6)
    mixed = [notices[0], *(river_notice(compose.registry, n.station, 3, 3.2)
                           for n in notices[1:])]
    posts = compose.thread(mixed, max_posts=1)
    assert posts[0].startswith("【警戒レベL3相当以上】".replace("L", "ル"))


def test_short_names_are_used_before_any_station_is_left_out() -> None:
    names = long_names(7)
    shorts = [Names(ja=f"上流{i}", en=f"Upper {i}") for i in range(7)]
    registry = registry_of([gauge(i, names[i], shorts[i]) for i in range(7)])
    notices = [river_notice(registry, f"r-{i:03d}", 4, 4.5) for i in range(7)]
    [post] = composer(registry).thread(notices, max_posts=1)
    assert all(f"上流{i}観測所" in post for i in range(7))
    assert "ほか" not in post
    assert names[0].ja not in post


def test_english_follows_as_a_reply_when_japanese_fills_the_post() -> None:
    compose, notices = storm(3)
    posts = compose.thread(notices, max_posts=3)
    assert posts[0].startswith("【")
    assert "Abukuma" not in posts[0]
    english = [post for post in posts if post.startswith("[Alert level 4 equivalent]")]
    assert english
    assert all(ADVICE_4[1] in post for post in english)
    assert all(fits_x(post) for post in posts)
    # Only Japanese when there is room for one post.
    [alone] = compose.thread(notices, max_posts=1)
    assert alone.startswith("【")
    assert "[" not in alone


def test_a_road_closure_and_its_all_clear_speak_of_the_road() -> None:
    registry = sample_registry()
    closed = notice(registry, "koriyama-r4-underpass", "road_flooding", transition="confirmed",
                    level=2, previous=2,
                    minutes=10, detail={"water_depth_cm": 25.0})
    cleared = notice(registry, "koriyama-r4-underpass", "road_flooding", transition="cleared",
                     level=0, previous=2,
                     minutes=90, seq=2)
    [closure] = composer(registry).thread([closed])
    assert closure.split("\n\n")[0] == (
        "【冠水通行止め】国道4号 郡山アンダーパス（郡山市）は冠水のため通行止めです"
        "（12月7日 08:10）。迂回してください。")
    [clear] = composer(registry).thread([cleared])
    assert "路面の状況に注意して通行してください。" in clear
    assert "川" not in clear.replace("国道4号 郡山", "")


def test_a_name_too_long_for_any_post_is_cut_at_a_word() -> None:
    name = Names(ja="長" * 200, en=" ".join(["Riverside"] * 80))
    registry = registry_of([gauge(0, name)])
    item = river_notice(registry, "r-000", 4, 4.2)
    [post] = composer(registry, "mastodon").thread([item])
    assert fits_mastodon(post)
    assert ADVICE_4[0] in post
    assert cut_name("Riverside Riverside Riverside") == "Riverside Riverside…"
    assert cut_name("Riverside Riverside…") == "Riverside…"
    [english] = [line for line in composer(registry, "mastodon").thread(
        [item], max_posts=2)[1:]]
    assert "Riverside…" in english
    assert "Riversid…" not in english  # a whole word, never part of one
    assert "more" not in english
    assert english.endswith(ADVICE_4[1])


@settings(max_examples=20, deadline=None)
@given(count=st.integers(1, 45), max_posts=st.integers(1, 4),
       lengths=st.lists(st.integers(2, 40), min_size=45, max_size=45),
       platform=st.sampled_from(["x", "mastodon"]))
def test_any_group_fits_advises_and_accounts_for_every_station(
        count: int, max_posts: int, lengths: list[int], platform: str) -> None:
    names = [Names(ja=f"{i:02d}" + "観" * lengths[i], en=f"G{i:02d} " + "ab " * (lengths[i] // 3))
             for i in range(count)]
    registry = registry_of([gauge(i, names[i]) for i in range(count)])
    notices = [river_notice(registry, f"r-{i:03d}", 3 + i % 3, 3.0 + i / 10)
               for i in range(count)]
    compose = composer(registry, platform)
    posts = compose.thread(notices, max_posts=max_posts)
    fits = fits_x if platform == "x" else fits_mastodon
    assert 1 <= len(posts) <= max_posts
    assert all(fits(post) for post in posts)
    japanese = [post for post in posts if post.startswith("【")]
    assert posts[0] in japanese  # Japanese first
    for post in posts:  # the advice of the highest level the post lists, whole
        assert any(advice in post for advice in (
            "高齢者等は危険な場所から避難してください。", ADVICE_4[0],
            "命の危険があります。直ちに安全を確保してください。",
            "Older people and others who need time: evacuate from danger zones.",
            ADVICE_4[1], "Danger to life. Secure your safety now."))
        assert "…" not in post
    assert accounted(japanese, notices, compose) >= count
    for post in posts:
        if MORE.search(post) or re.search(r"\b\d+ more\b", post):
            assert f"\n{PUBLIC_PAGE}?alert_type=river_level&level=3" in post
