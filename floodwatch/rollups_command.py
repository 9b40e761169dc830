"""``floodwatch rollups``: bring the hourly rollups (core.rollups) in line with the raw
points by hand.

Ingest keeps them itself; this is for readings that reached InfluxDB another way
(imported from a backup or another system, or written by a benchmark) and for checking
a deployment. Only hours whose counts disagree are recomputed, so running it twice
costs a scan and nothing more. Exit 0 done, 1 InfluxDB failed, 2 a bad setting.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from core import rollups
from core.commandline import EXIT_RUNTIME, fail, settings_or_exit
from core.influx import InfluxClient, InfluxError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "rollups", help="recompute hourly rollups that disagree with the raw readings")
    parser.add_argument("--days", type=float, metavar="N",
                        help="look back N days (default FLOODWATCH_API_MAX_RANGE_DAYS, the "
                        "longest range the API serves)")
    parser.set_defaults(handler=cmd_rollups)


def cmd_rollups(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    days = settings.api_max_range_days if args.days is None else args.days
    if not 0 < days <= 36_500:
        fail(f"--days: must be more than 0 and at most 36500, not {days:g}")

    async def run() -> int:
        async with InfluxClient.from_settings(settings) as influx:
            end_hour = int(time.time()) // rollups.HOUR_S
            return await rollups.reconcile(influx, end_hour - int(days * 24), end_hour)

    started = time.monotonic()
    try:
        hours = asyncio.run(run())
    except InfluxError as exc:
        fail(f"InfluxDB {settings.influx_url}: {exc}", EXIT_RUNTIME)
    print(f"rollups: {hours} hour(s) recomputed over the last {days:g} days "
          f"in {time.monotonic() - started:.1f} s")
