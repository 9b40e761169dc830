"""The benchmark tables, as Markdown (pasteable into docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Throughput(Protocol):
    name: str
    scenario: str
    total: int
    stored: int
    seconds: float
    lag_s: float | None

    @property
    def rate(self) -> float: ...

    @property
    def lost(self) -> int: ...


def print_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows,
                                                                       strict=False)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
              + " |")


def print_results(results: Sequence[Throughput], total: int, stations: int) -> None:
    """Throughput rows, with floodwatch's rate as a ratio of the limit and the peer."""
    print(f"\n{total:,} QoS 1 readings over {stations} stations")
    reference: dict[tuple[str, str], float] = {}
    for result in results:
        if result.name.startswith("mosquitto_sub"):
            reference[("limit", result.scenario)] = result.rate
        elif result.name == "Node-RED (batch)":
            reference[("peer", result.scenario)] = result.rate
    rows = []
    for result in results:
        ratio = ""
        if result.name.startswith("floodwatch"):
            limit = reference.get(("limit", result.scenario))
            peer = reference.get(("peer", result.scenario))
            ratio = " / ".join([f"{result.rate / limit:.2f}x limit" if limit else "",
                                f"{result.rate / peer:.2f}x Node-RED" if peer else ""]
                               ).strip(" /")
        lag = f"{result.lag_s:.2f}" if result.lag_s is not None else ""
        note = getattr(result, "note", "")
        rows.append([result.name, result.scenario, f"{result.stored:,}", f"{result.lost:,}",
                     f"{result.seconds:.2f}", f"{result.rate:,.0f}", lag, ratio, note])
    print_rows(["consumer", "scenario", "stored", "lost", "seconds", "per second",
                "last stored after last publish (s)", "ratio", "note"], rows)
