"""History of one tag: raw samples or bucketed aggregates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from plantos.api.auth import path_param, platform_of, require
from plantos.core.errors import UnknownTagError
from plantos.historian.request import MAX_RAW_LIMIT, HistoryRequest

router = APIRouter(tags=["history"])


@router.get("/tags/{path:path}/samples")
def tag_samples(
    request: Request,
    path: str,
    start: str | None = Query(None, alias="from", description="ISO 8601, 'now' or '-1h'"),
    end: str | None = Query(None, alias="to", description="ISO 8601, 'now' or '-5m'"),
    bucket: str | None = Query(
        None, description="Bucket width (1s, 1m, 1h); raw samples if absent"
    ),
    agg: str | None = Query(
        None,
        description="Comma-separated: avg,min,max,sum,first,last,count,twa,changes "
        "(text tags: first,last,count,changes); default avg, last for text",
    ),
    limit: int = Query(10_000, ge=1, le=MAX_RAW_LIMIT, description="Raw samples at most"),
    _: object = require("history:read", scope_from=path_param("path")),
) -> dict[str, Any]:
    """Samples of the tag at ``path`` between ``from`` (default: an hour before ``to``) and
    ``to`` (default: now). With ``bucket``, aggregates per epoch-aligned bucket."""
    platform = platform_of(request)
    tag = platform.plant.tags.get(path)
    if tag is None:
        raise UnknownTagError(f"no tag {path!r} in the plant model")
    query = HistoryRequest.parse(
        now_ns=platform.clock.now_ns(), start=start, end=end, bucket=bucket, agg=agg, limit=limit
    )
    answer = query.run(platform.historian, platform.tag_ids[path], tag.dtype)
    return {"tag": path, "unit": tag.unit, "type": tag.dtype} | answer
