"""The `petitiondesk hotspots` and `petitiondesk report` commands (added to petitiondesk/cli.py)."""

from __future__ import annotations

from typing import Any


def add_analytics_commands(sub: Any) -> None:
    del sub  # filled in by the hotspots and reports work
