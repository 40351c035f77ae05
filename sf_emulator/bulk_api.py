"""Bulk API 2.0 (``/services/data/vXX.X/jobs/...``) and Bulk API 1.0 (``/services/async/XX.X/...``).

This module routes Bulk API 2.0 requests to ``bulk2_ingest`` / ``bulk2_query``; Bulk API 1.0 is in
``bulk1_api``, what they share in ``bulk_jobs``.

Jobs are processed synchronously: an ingest job is processed while its ``UploadComplete`` PATCH is
answered, a query job when it is created, a Bulk 1.0 batch when it is added. Clients still see the
usual state machine (the close answer says ``UploadComplete``; the next GET says ``JobComplete``),
so their polling code runs exactly as against a real org, only without waiting.
"""

from __future__ import annotations

from sf_emulator.bulk2_ingest import ingest_route
from sf_emulator.bulk2_query import query_route
from sf_emulator.http_types import ApiRequest, Reply, not_found


def bulk2_route(request: ApiRequest) -> Reply:
    """``jobs/ingest[...]`` and ``jobs/query[...]``."""
    kind = request.segments[1] if len(request.segments) > 1 else ""
    rest = request.segments[2:]
    if kind == "ingest":
        return ingest_route(request, rest)
    if kind == "query":
        return query_route(request, rest)
    return not_found()
