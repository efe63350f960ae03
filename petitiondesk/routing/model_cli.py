"""The `petitiondesk model` commands (added to petitiondesk/cli.py's parser)."""

from __future__ import annotations

from typing import Any


def add_model_commands(sub: Any) -> None:
    del sub  # filled in by the classifier work
