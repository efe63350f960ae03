"""Division boundaries for the dashboard's map, when the deployment holds them offline.

petitiondesk ships no boundary data and never fetches any (deployments are often on closed
networks). A deployment that has a GeoJSON FeatureCollection of its divisions (for instance the
usual DataV/Aliyun files, whose features carry `properties.adcode`) points
`PETITIONDESK_DIVISION_BOUNDARIES` at it; each feature's division code is read from
`properties.code` or `properties.adcode`, and the dashboard then draws the registered counts of
each division on a map beside the ranked bar chart. A missing or malformed file is logged and
the map left out: the rest of the dashboard never depends on it.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings

log = logging.getLogger("petitiondesk.analytics")

CODE_PROPERTIES = ("code", "adcode")


class BoundaryError(ValueError):
    pass


def parse_boundaries(raw: Any) -> dict[str, Any]:
    """The FeatureCollection reduced to what the map needs: each feature's geometry, named by its
    division code (ECharts matches a data item to the feature of the same `name`)."""
    if not isinstance(raw, dict) or raw.get("type") != "FeatureCollection":
        raise BoundaryError("not a GeoJSON FeatureCollection")
    features = []
    for feature in raw.get("features") or []:
        props = (feature or {}).get("properties") or {}
        code = next((props[k] for k in CODE_PROPERTIES if props.get(k) not in (None, "")), None)
        geometry = (feature or {}).get("geometry")
        if code is None or not isinstance(geometry, dict):
            continue  # a feature without a division code or a shape cannot be drawn
        features.append(
            {"type": "Feature", "properties": {"name": str(code)}, "geometry": geometry}
        )
    if not features:
        raise BoundaryError("no feature has a division code (properties.code or .adcode)")
    return {"type": "FeatureCollection", "features": features}


@functools.lru_cache(maxsize=2)
def _load(path: str, mtime: float) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return parse_boundaries(json.load(fh))
    except (OSError, ValueError) as e:  # json errors are ValueErrors too
        log.warning("division boundaries %s not used: %s", path, e)
        return None


def division_boundaries() -> dict[str, Any] | None:
    """The configured boundaries, read once per version of the file; None without a usable one."""
    configured = settings.PETITIONDESK_DIVISION_BOUNDARIES
    if not configured:
        return None
    path = Path(configured)
    try:
        mtime = path.stat().st_mtime
    except OSError as e:
        log.warning("division boundaries %s not used: %s", path, e)
        return None
    return _load(str(path), mtime)
