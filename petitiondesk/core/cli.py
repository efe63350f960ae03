"""Operations commands of `petitiondesk`: `check` (docs/deploy.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_check(args: argparse.Namespace) -> None:
    from .check import as_json, as_text, deployment_check

    items = deployment_check()
    if args.json:
        print(json.dumps(as_json(items), ensure_ascii=False, indent=2))
    else:
        print(as_text(items))
    if any(item.status == "fail" for item in items):
        raise SystemExit(1)


def add_ops_commands(sub: Any) -> None:
    c = sub.add_parser("check", help="what a production deployment still lacks (exit 1 if any)")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_check)
