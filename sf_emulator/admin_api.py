"""Unauthenticated admin routes under ``/__emulator/`` for the process mode (loopback only).

``GET info``, ``POST reset``, ``POST faults`` (FaultInjector JSON spec), ``POST oauth``
(``{"rotate_refresh_tokens": bool, "callback_urls": [...]}``: the External Client App's settings),
and per org: ``GET|POST {org}/records/{Object}``, ``POST {org}/generate/{Object}?n=&seed=``,
``GET {org}/usage``, ``POST {org}/session`` (a fresh access token, for direct-session clients),
``POST {org}/revoke-oauth`` (the admin revokes every OAuth token of the org, as in Setup > Connected
Apps OAuth Usage) and ``POST {org}/field-access`` (``{"Lead.Field__c": "read" | "none" | "edit"}``:
the integration user's field-level security).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from sf_emulator.http_types import Reply, error_reply, json_reply, not_found
from sf_emulator.results import ApiError

if TYPE_CHECKING:
    from sf_emulator.server import EmulatorCore

PREFIX = "/__emulator/"


def handle(core: EmulatorCore, method: str, path: str, query_string: str, body: bytes) -> Reply:
    parts = [unquote(part) for part in path[len(PREFIX) :].split("/") if part]
    query = {key: values[0] for key, values in parse_qs(query_string).items()}
    try:
        return _dispatch(core, method, parts, query, body)
    except (ValueError, KeyError, TypeError) as exc:
        return error_reply(400, "BAD_REQUEST", str(exc))
    except ApiError as exc:
        return error_reply(exc.http_status, exc.error_code, exc.message)


def _dispatch(
    core: EmulatorCore, method: str, parts: list[str], query: dict[str, str], body: bytes
) -> Reply:
    if parts == ["info"] and method == "GET":
        return json_reply(200, core.info())
    if parts == ["reset"] and method == "POST":
        core.reset()
        return json_reply(200, {"reset": True})
    if parts == ["faults"] and method == "POST":
        core.faults.apply_spec(_json(body))
        return json_reply(200, {"applied": True})
    if parts == ["oauth"] and method == "POST":
        settings = _json(body) or {}
        if "rotate_refresh_tokens" in settings:
            core.auth.rotate_refresh_tokens = bool(settings["rotate_refresh_tokens"])
        if "callback_urls" in settings:
            core.auth.callback_urls = frozenset(str(url) for url in settings["callback_urls"])
        return json_reply(200, {"rotate_refresh_tokens": core.auth.rotate_refresh_tokens})
    if len(parts) >= 2 and parts[0] in core.orgs:
        return _org_route(core, method, org=parts[0], parts=parts[1:], query=query, body=body)
    return not_found()


def _org_route(
    core: EmulatorCore,
    method: str,
    *,
    org: str,
    parts: list[str],
    query: dict[str, str],
    body: bytes,
) -> Reply:
    data = core.org(org).data
    if parts == ["usage"] and method == "GET":
        return json_reply(200, core.org(org).usage.snapshot())
    if parts == ["session"] and method == "POST":
        return json_reply(200, {"access_token": core.issue_session(org)})
    if parts == ["revoke-oauth"] and method == "POST":
        return json_reply(200, {"revoked": core.auth.tokens.revoke_org(org)})
    if parts == ["field-access"] and method == "POST":
        for name, level in (_json(body) or {}).items():
            core.set_field_access(org, str(name), str(level))
        return json_reply(200, {"field_access": core.org(org).field_access})
    if len(parts) == 2 and parts[0] == "records":
        if method == "GET":
            return json_reply(200, data.records(parts[1]))
        if method == "POST":
            records = _json(body)
            if not isinstance(records, list):
                raise ValueError("expected a JSON list of records")
            return json_reply(201, {"ids": data.load_records(parts[1], records)})
    if len(parts) == 2 and parts[0] == "generate" and method == "POST":
        ids = data.generate(
            parts[1],
            int(query.get("n", "100")),
            seed=int(query.get("seed", "0")),
            **_fractions(query),
        )
        return json_reply(201, {"ids": ids, "count": len(ids)})
    return not_found()


def _fractions(query: dict[str, str]) -> dict[str, float]:
    names = ("duplicate_email_fraction", "mixed_case_fraction")
    return {name: float(query[name]) for name in names if name in query}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
