"""The `petitiondesk index` commands (added to petitiondesk/cli.py's parser; docs/intelligence.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any


def _progress(quiet: bool) -> Callable[[int, int], None] | None:
    """A one-line progress report on stderr when it is a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-9)
        pct = 100 * done / total if total else 100.0
        print(f"\r{done:,}/{total:,} cases ({pct:.0f}%, {rate:,.0f}/s)", end="", file=sys.stderr)
        if done >= total:
            print(file=sys.stderr)

    return show


def cmd_rebuild(args: argparse.Namespace) -> None:
    from petitiondesk.routing import similarity
    from petitiondesk.routing.identity import rekey_petitioners

    started = time.monotonic()
    keyed = rekey_petitioners()
    n = similarity.rebuild(progress=_progress(args.quiet))
    status = similarity.status()
    print(
        f"index rebuilt: {n:,} cases in {time.monotonic() - started:.1f} s, "
        f"{status['memory_bytes'] / 1e6:.1f} MB, saved to {status['directory']}; "
        f"{keyed:,} petitioner keys recomputed"
    )


def cmd_status(args: argparse.Namespace) -> None:
    from petitiondesk.routing import similarity

    status = similarity.status()
    if args.json:
        print(json.dumps(status))
        return
    print(
        f"{status['cases']:,} cases indexed (up to case {status['high_water']}), "
        f"{status['memory_bytes'] / 1e6:.1f} MB in memory, "
        f"{'saved' if status['saved'] else 'not saved yet'} in {status['directory']}"
    )


def cmd_similar(args: argparse.Namespace) -> None:
    from petitiondesk.cases.models import Case
    from petitiondesk.routing import similarity

    from ..cli import CliError

    if args.case:
        case = Case.objects.filter(tracking_number=args.case).first()
        if case is None and args.case.isdigit():
            case = Case.objects.filter(pk=int(args.case)).first()
        if case is None:
            raise CliError(f"no case {args.case}")
        title, content, own = case.title, case.content, case.pk
    else:
        title, content, own = "", " ".join(args.text), None
    if not (title or content).strip():
        raise CliError("give a case (tracking number or id) or --text")
    signature = similarity.hasher().signature(similarity.case_text(title, content))
    hits = [
        (pk, score)
        for pk, score in similarity.fresh_index().query(
            signature, limit=args.top + 1, min_score=args.min_score
        )
        if pk != own
    ][: args.top]
    numbers = dict(
        Case.objects.filter(pk__in=[pk for pk, _ in hits]).values_list("pk", "tracking_number")
    )
    for pk, score in hits:
        if pk in numbers:
            print(f"{score:.3f}  {numbers[pk]}  (id {pk})")
    if not hits:
        print("no similar cases")


def add_index_commands(sub: Any) -> None:
    index = sub.add_parser("index", help="the near-duplicate index").add_subparsers(
        dest="sub", required=True
    )
    rb = index.add_parser(
        "rebuild", help="build the index afresh from every case (and re-key petitioners)"
    )
    rb.add_argument("--quiet", action="store_true", help="no progress line")
    rb.set_defaults(func=cmd_rebuild)
    st = index.add_parser("status", help="how many cases the index holds, and its size")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    si = index.add_parser("similar", help="the cases most similar to a case or a text")
    si.add_argument("case", nargs="?", help="tracking number or id")
    si.add_argument("--text", nargs="+", default=[], help="a text instead of a case")
    si.add_argument("--top", type=int, default=5)
    si.add_argument("--min-score", type=float, default=0.3)
    si.set_defaults(func=cmd_similar)
