"""The disk spool: order, bound, alarm, and surviving a crash mid-append."""

from __future__ import annotations

from pathlib import Path

import pytest

from floodwatch.ingest import spool as spool_module
from floodwatch.ingest.spool import Spool, SpoolFull


def test_batches_come_back_in_order_across_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "SEGMENT_BYTES", 64)  # a new segment every ~2 batches
    spool = Spool(tmp_path, max_bytes=1024**2)
    for batch in range(10):
        spool.append([f"river,station=a level_m={batch}.{n} {batch * 10 + n}" for n in range(2)])
    replayed = []
    while (oldest := spool.oldest()) is not None:
        path, lines = oldest
        replayed.extend(lines)
        spool.remove(path)
    assert replayed == [f"river,station=a level_m={b}.{n} {b * 10 + n}"
                        for b in range(10) for n in range(2)]
    assert spool.is_empty()
    assert spool.size_bytes == 0
    assert list(tmp_path.iterdir()) == []


def test_a_reopened_spool_finds_what_was_left(tmp_path: Path) -> None:
    Spool(tmp_path, max_bytes=1024**2).append(["river,station=a level_m=1 1"])
    reopened = Spool(tmp_path, max_bytes=1024**2)
    assert not reopened.is_empty()
    oldest = reopened.oldest()
    assert oldest is not None
    assert oldest[1] == ["river,station=a level_m=1 1"]
    reopened.append(["river,station=a level_m=2 2"])  # goes to a new segment
    assert len(list(tmp_path.glob("seg-*.lp"))) == 2


def test_a_torn_last_append_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1024**2)
    spool.append(["river,station=a level_m=1 1"])
    [segment] = tmp_path.glob("seg-*.lp")
    with segment.open("ab") as torn:  # a crash halfway through the next append
        torn.write(b"river,station=a level_m=2 2\nriver,station=a lev")
    oldest = Spool(tmp_path, max_bytes=1024**2).oldest()
    assert oldest is not None
    assert oldest[1] == ["river,station=a level_m=1 1", "river,station=a level_m=2 2"]


def test_the_bound_is_enforced(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100, alarm_ratio=0.5)
    spool.append(["x" * 60])
    with pytest.raises(SpoolFull):
        spool.append(["y" * 60])
    assert spool.size_bytes == 61


def test_a_line_holding_unicode_line_separators_comes_back_whole(tmp_path: Path) -> None:
    # A string field may hold U+0085 or U+2028 (line protocol ends lines with \n only).
    lines = ['road,station=a surface_state="wet\u0085icy\u2028x" 1',
             "river,station=a level_m=1 2"]
    spool = Spool(tmp_path, max_bytes=1024**2)
    spool.append(lines)
    oldest = spool.oldest()
    assert oldest is not None
    assert oldest[1] == lines
