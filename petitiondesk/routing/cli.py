"""The `petitiondesk index` commands (added to petitiondesk/cli.py's parser)."""

from __future__ import annotations

import argparse
from typing import Any


def add_index_commands(sub: Any) -> None:
    del sub  # filled in by the near-duplicate index work


def _unused(args: argparse.Namespace) -> None:
    pass
