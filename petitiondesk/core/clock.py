"""The deployment's notion of "today": dates are computed in its time zone, never in naive UTC."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def today() -> dt.date:
    """Today's date in the deployment's time zone (settings.TIME_ZONE)."""
    return timezone.localdate()
