"""The `petitiondesk hotspots`, `petitiondesk spikes` and `petitiondesk report` commands (added to
petitiondesk/cli.py; docs/governance.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class _Progress:
    """Stage lines on stderr, only on a terminal and without --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.on = not quiet and sys.stderr.isatty()
        self.start = time.monotonic()

    def __call__(self, text: str) -> None:
        if self.on:
            print(f"[{time.monotonic() - self.start:5.1f}s] {text}", file=sys.stderr, flush=True)


def _org(code: str | None) -> Any:
    from petitiondesk.accounts.models import Organisation
    from petitiondesk.cli import CliError

    if code is None:
        return None
    org = Organisation.objects.filter(code=code).first()
    if org is None:
        raise CliError(f"no organisation with code {code!r}")
    return org


def _period(value: str) -> tuple[dt.date, dt.date]:
    from petitiondesk.cli import CliError

    from .reports import month_period, year_period

    try:
        if len(value) == 4 and value.isdigit():
            return year_period(int(value))
        return month_period(value)
    except Exception:
        raise CliError(f"--period {value!r}: expected YYYY-MM or YYYY") from None


def _file_messages(args: argparse.Namespace, progress: _Progress) -> list[Any]:
    from petitiondesk.cli import CliError
    from petitiondesk.core.errors import InvalidInput
    from petitiondesk.intake.readers import open_table

    from .hotspots import Columns, messages_from_rows

    cols = Columns(
        title=args.text_col,
        body=args.body_col,
        time=args.time_col,
        support=args.support_col,
        petitioner=args.petitioner_col,
        id=args.id_col,
        place=args.place_col or "",
    )
    try:
        table = open_table(Path(args.data), sheet=args.sheet)
    except InvalidInput as exc:
        raise CliError(str(exc)) from None
    try:
        missing = [c for c in (cols.title, cols.time) if c not in table.columns]
        if missing:
            raise CliError(
                f"{args.data}: no column {missing[0]!r}; the file has: {', '.join(table.columns)}"
            )
        messages = messages_from_rows(table.rows, cols)
    finally:
        table.close()
    progress(f"read {len(messages)} messages from {args.data}")
    return messages


def cmd_hotspots(args: argparse.Namespace) -> None:
    from petitiondesk.accounts.selectors import org_subtree_ids
    from petitiondesk.cli import CliError
    from petitiondesk.core.clock import today

    from .hotspots import case_messages, find_hotspots, in_window

    progress = _Progress(args.quiet)
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise CliError("--from is after --to")
    if args.data:
        if args.period or args.org:
            raise CliError("--period and --org apply to the deployment's cases, not to --data")
        messages = in_window(_file_messages(args, progress), args.date_from, args.date_to)
    else:
        if args.period:
            date_from, date_to = _period(args.period)
        else:
            date_to = args.date_to or today()
            date_from = args.date_from or date_to - dt.timedelta(days=89)
        org = _org(args.org)
        messages = case_messages(
            date_from, date_to, org_subtree_ids(org.id) if org is not None else None
        )
        progress(f"read {len(messages)} cases received {date_from} – {date_to}")
    window = None
    if args.date_from and args.date_to:
        window = (
            dt.datetime.combine(args.date_from, dt.time()),
            dt.datetime.combine(args.date_to, dt.time.max),
        )
    hotspots = find_hotspots(messages, top=args.top, threshold=args.threshold, window=window)
    progress(f"clustered {len(messages)} messages")
    if args.json:
        print(json.dumps([h.as_dict() for h in hotspots], ensure_ascii=False, indent=2))
        return
    if not hotspots:
        print(f"no hotspots among {len(messages)} messages")
        return
    for h in hotspots:
        where = " ".join(x for x in (h.district, h.place, h.topic and f"[{h.topic}]") if x) or "-"
        span = f"{h.first:%Y-%m-%d} – {h.last:%Y-%m-%d}" if h.first and h.last else ""
        print(
            f"#{h.rank}  heat {h.heat:.2f}  {where}  {len(h.messages)} messages from "
            f"{h.petitioners} petitioners, {h.support} likes  {span}"
        )
        for title in h.titles:
            print(f"    {title}")
        for m in h.messages[: args.messages]:
            at = f"{m.at:%Y-%m-%d}" if m.at else "          "
            print(f"      - {m.id}  {at}  {m.title}")
        if 0 < args.messages < len(h.messages):
            print(f"      … and {len(h.messages) - args.messages} more")


def cmd_spikes(args: argparse.Namespace) -> None:
    from petitiondesk.accounts.selectors import org_subtree_ids
    from petitiondesk.core.clock import today

    from .spikes import spikes_find

    org = _org(args.org)
    spikes = spikes_find(
        week_of=args.week or today(),
        org_ids=org_subtree_ids(org.id) if org is not None else None,
        weeks=args.weeks,
    )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "dimension": s.dimension,
                        "value": s.value,
                        "week": s.week.isoformat(),
                        "count": s.test.count,
                        "median": s.test.median,
                        "mad": s.test.mad,
                        "z": round(s.test.z, 2),
                        "p": s.test.p,
                    }
                    for s in spikes
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not spikes:
        print("no spikes")
    for s in spikes:
        print(
            f"{s.dimension}={s.value}  week of {s.week}: {s.test.count} "
            f"(usual {s.test.median:g}, z {s.test.z:.1f}, p {s.test.p:.1e})"
        )


def cmd_report(args: argparse.Namespace) -> None:
    from petitiondesk.cli import CliError

    from .reports import month_period, report_build, report_render, year_period

    if args.kind == "monthly":
        if not args.month:
            raise CliError("monthly reports need --month YYYY-MM")
        date_from, date_to = month_period(args.month)
    else:
        if not args.year:
            raise CliError("annual reports need --year YYYY")
        date_from, date_to = year_period(args.year)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CliError(f"no such directory: {out.parent}")
    report = report_build(kind=args.kind, date_from=date_from, date_to=date_to, org=_org(args.org))
    out.write_bytes(report_render(report, args.format))
    print(f"{report.title}: written to {out}")


def add_analytics_commands(sub: Any) -> None:
    from .counts_cli import add_counts_commands

    add_counts_commands(sub)  # `petitiondesk counts rollup|rebuild` (the analytics roll-up)

    h = sub.add_parser("hotspots", help="clusters of similar petitions, ranked by heat")
    h.add_argument("--data", metavar="FILE", help="a CSV, XLSX or JSON file of messages")
    h.add_argument("--sheet", help="the XLSX sheet (default: the first)")
    h.add_argument("--text-col", default="留言主题", help="title column (default 留言主题)")
    h.add_argument("--body-col", default="留言详情", help="body column (default 留言详情)")
    h.add_argument("--time-col", default="留言时间", help="time column (default 留言时间)")
    h.add_argument("--support-col", default="点赞数", help="likes column (default 点赞数)")
    h.add_argument("--petitioner-col", default="留言用户", help="petitioner column")
    h.add_argument("--id-col", default="留言编号", help="message id column")
    h.add_argument("--place-col", help="a location column, when the file has one")
    h.add_argument("--top", type=int, default=5)
    h.add_argument("--messages", type=int, default=10, help="messages listed per hotspot")
    h.add_argument("--threshold", type=float, default=0.8, help="cosine distance cut (0.8)")
    h.add_argument("--from", dest="date_from", type=_date, metavar="DATE")
    h.add_argument("--to", dest="date_to", type=_date, metavar="DATE")
    h.add_argument("--period", help="without --data: YYYY-MM or YYYY (default: last 90 days)")
    h.add_argument("--org", help="without --data: an organisation's code (its subtree)")
    h.add_argument("--json", action="store_true")
    h.add_argument("--quiet", action="store_true", help="no progress on stderr")
    h.set_defaults(func=cmd_hotspots)

    s = sub.add_parser("spikes", help="topics and divisions whose weekly count departs from usual")
    s.add_argument("--week", type=_date, metavar="DATE", help="a day of the week (default today)")
    s.add_argument("--weeks", type=int, default=8, help="baseline weeks (default 8)")
    s.add_argument("--org", help="an organisation's code (its subtree)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_spikes)

    r = sub.add_parser("report", help="the monthly or annual report (Art. 41) as XLSX or PDF")
    r.add_argument("kind", choices=["monthly", "annual"])
    r.add_argument("--month", help="YYYY-MM (monthly)")
    r.add_argument("--year", type=int, help="YYYY (annual)")
    r.add_argument("--org", help="an organisation's code (default: all organs)")
    r.add_argument("--format", choices=["xlsx", "pdf"], default="xlsx")
    r.add_argument("--out", required=True, metavar="FILE")
    r.set_defaults(func=cmd_report)
