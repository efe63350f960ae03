"""`petitiondesk counts rollup|rebuild` (registered by analytics/cli.py).

Argparse only at import: the command line builds its parser before Django is set up, so the
handlers import the roll-up (and its models) when they run.
"""

from __future__ import annotations

import sys
from typing import Any


def add_counts_commands(sub: Any) -> None:
    """`counts rollup` (what the worker runs every sweep interval) and `counts rebuild` (repair:
    recount everything from the event log and the clocks)."""
    counts = sub.add_parser("counts", help="the dashboards' daily counts").add_subparsers(
        dest="sub", required=True
    )
    r = counts.add_parser("rollup", help="count the events since the last run")
    r.add_argument("--quiet", action="store_true", help="no progress on stderr")
    r.set_defaults(func=cmd_counts_rollup)
    b = counts.add_parser("rebuild", help="recount every case from its events and clocks")
    b.add_argument("--quiet", action="store_true", help="no progress on stderr")
    b.set_defaults(func=cmd_counts_rebuild)


def cmd_counts_rollup(args: Any) -> None:
    from .rollup import counts_rollup, stderr_progress

    progress = None if args.quiet else stderr_progress("events")
    done = counts_rollup(progress=progress)
    if progress:
        print(file=sys.stderr)
    print(f"counted {done} event(s)")


def cmd_counts_rebuild(args: Any) -> None:
    from petitiondesk.cases.models import Case

    from .rollup import counts_rebuild, stderr_progress

    progress = None if args.quiet else stderr_progress("cases", Case.objects.count())
    done = counts_rebuild(progress=progress)
    if progress:
        print(file=sys.stderr)
    print(f"recounted {done} case(s)")
