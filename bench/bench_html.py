#!/usr/bin/env python3
"""Benchmark `-o html` on generated fleets (bench/fleet.py): time to build the graph and write
the page (layout, and a `why` text for each not-ready object), and the page's size.

Usage: python bench/bench_html.py [--objects 300 1000] [--repeat 3]"""

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fleet import fleet  # noqa: E402
from kubectl_depgraph.graph import DepGraph  # noqa: E402
from kubectl_depgraph.model import parse_object  # noqa: E402
from kubectl_depgraph.render.html import render_html  # noqa: E402

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.objects:
        objects = [o for o in map(parse_object, fleet(n)) if o is not None]
        times, size, nodes = [], 0, 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            graph = DepGraph.from_objects(objects)   # fresh: no cached walks between runs
            page = render_html(graph, "fleet", now=NOW)
            times.append(time.perf_counter() - started)
            size, nodes = len(page.encode()), len(graph)
        print(f"{nodes:6d} nodes  {statistics.median(times):6.2f} s (median of {args.repeat})  "
              f"{size / 1e6:5.2f} MB")


if __name__ == "__main__":
    main()
