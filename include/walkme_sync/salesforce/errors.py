"""The one place where simple-salesforce / requests exceptions become ours.

Everything that talks to Salesforce catches exceptions and passes them to `translate`, so the
grouping by "what to do about it" (configuration, authorization, quota, transient) lives here only.
Messages are built from Salesforce's error code and message, never from request URLs, headers or
bodies we sent, and are passed through `redact` so a session id or token cannot leak into a log.
"""

from __future__ import annotations

import re
from typing import Any

from include.walkme_sync.errors import (
    AuthorizationError,
    ConfigurationError,
    QuotaError,
    SyncError,
    TransientError,
)

#: Per-record status codes worth retrying within the run (the record itself is fine).
TRANSIENT_RECORD_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "API_TEMPORARILY_UNAVAILABLE", "SERVER_UNAVAILABLE"}
)

#: Request-level codes that mean "try again later".
TRANSIENT_REQUEST_CODES = frozenset(
    {
        "API_TEMPORARILY_UNAVAILABLE",
        "SERVER_UNAVAILABLE",
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_RUNNING_TOO_LONG",
    }
)

_AUTH_CODES = frozenset(
    {
        "INVALID_SESSION_ID",
        "INVALID_LOGIN",
        "invalid_grant",
        "invalid_client",
        "invalid_client_id",
        "inactive_user",
        "inactive_org",
        "INVALID_AUTH_HEADER",
        "LOGIN_MUST_USE_SECURITY_TOKEN",
        "PASSWORD_LOCKOUT",
        "INVALID AUTH",
    }
)
_CONFIG_CODES = frozenset(
    {"INVALID_FIELD", "INVALID_TYPE", "NOT_FOUND", "INVALID_FIELD_FOR_INSERT_UPDATE"}
)

_MAX_MESSAGE_CHARS = 500

# Salesforce session ids / access tokens look like "00D5g000004ABCD!AQ0AQ...."; bearer tokens and
# key=value secrets may appear in echoed request data. Replace them wherever they show up.
_SECRET_PATTERNS = (
    re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._!\-]+"),
    re.compile(
        r"(?i)((?:password|passwd|security_token|access_token|refresh_token|client_secret|"
        r"consumer_secret|session_?id|sessionId|assertion|private_?key)\W{0,3}[=:]\W{0,3})[^\s&,;\"'<]+"
    ),
    re.compile(r"(?i)(<(?:sessionId|password)>)[^<]*"),
    # user:password@ in database / proxy URLs
    re.compile(r"(://[^/:@\s]+:)[^@\s/]+(?=@)"),
)


def redact(text: str) -> str:
    """Remove anything that looks like a credential from `text` and cap its length."""
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[:_MAX_MESSAGE_CHARS] + "…"
    return text


def salesforce_errors(exc: BaseException) -> list[tuple[str, str]]:
    """(errorCode, message) pairs carried by a simple-salesforce exception, best effort."""
    code = getattr(exc, "code", None)
    if code is not None:  # SalesforceAuthenticationFailed
        return [(str(code), str(getattr(exc, "auth_message", "") or ""))]
    content: Any = getattr(exc, "content", None)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    pairs: list[tuple[str, str]] = []
    items = content if isinstance(content, list) else [content]
    for item in items:
        if isinstance(item, dict):
            if "errorCode" in item or "statusCode" in item:
                pairs.append(
                    (
                        str(item.get("errorCode") or item.get("statusCode")),
                        str(item.get("message", "")),
                    )
                )
            elif "error" in item:  # OAuth: {"error": "invalid_grant", "error_description": ...}
                pairs.append((str(item["error"]), str(item.get("error_description", ""))))
        elif isinstance(item, str) and item.strip():
            match = re.search(r"<(?:sf:)?exceptionCode>([^<]+)<", item)
            if match:
                message = re.search(r"<(?:sf:)?exceptionMessage>([^<]*)<", item)
                pairs.append((match.group(1), message.group(1) if message else ""))
            else:
                pairs.append(("", item.strip()))
    return pairs


def _describe(pairs: list[tuple[str, str]], fallback: str) -> str:
    if not pairs:
        return redact(fallback)
    return redact("; ".join(f"{code}: {msg}" if code else msg for code, msg in pairs))


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


class AuthorizationRevoked(Exception):
    """The refresh token stored by `make connect` was revoked or has expired at Salesforce."""

    def __init__(self, conn_id: str, environment: str, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.conn_id = conn_id
        self.environment = environment
        self.error = error
        self.description = description


def reconnect_command(environment: str, conn_id: str) -> str:
    """The command that authorizes the environment again (the default conn id is implied)."""
    default = conn_id == f"salesforce_{environment}"
    return f"make connect ENV={environment}" + ("" if default else f" CONN_ID={conn_id}")


def revoked_error(exc: AuthorizationRevoked) -> AuthorizationError:
    """What the original product says: which environment, access revoked or expired, reconnect."""
    command = reconnect_command(exc.environment, exc.conn_id)
    return AuthorizationError(
        f"Salesforce access for the {exc.environment} environment (Airflow connection "
        f"'{exc.conn_id}') was revoked or has expired: Salesforce no longer accepts the stored "
        f"authorization (Salesforce said: {redact(str(exc)) or 'no detail'}).",
        action=(
            f"Reconnect the {exc.environment} org: run `{command}`"
            " (or Admin > Salesforce Connect in the Airflow UI) and approve access as a Salesforce "
            "user the integration may act as, then run the integration again."
        ),
    )


def authorization_error(conn_id: str, detail: str) -> AuthorizationError:
    """Authorization failure message: which connection, what happened, what to do."""
    return AuthorizationError(
        f"Salesforce rejected the credentials of Airflow connection '{conn_id}': the stored "
        f"authorization was revoked or has expired, or the login/password/token are wrong "
        f"(Salesforce said: {redact(detail) or 'no detail'}).",
        action=(
            f"Reconnect the Salesforce account: update the Airflow connection '{conn_id}' with "
            "valid credentials (or re-authorize the connected app, or get a new security token "
            "after a password reset), then run the integration again."
        ),
    )


def translate(exc: BaseException, *, conn_id: str, object_name: str | None = None) -> SyncError:
    """Turn a simple-salesforce / requests / Airflow connection exception into a `SyncError`.

    Grouped by what the reader does about it: AuthorizationError (reconnect), QuotaError (wait or
    raise the budget), TransientError (Airflow retries), ConfigurationError (fix the YAML or the
    org's fields), SyncError (anything else, with Salesforce's code and message).
    """
    if isinstance(exc, SyncError):
        return exc
    if isinstance(exc, AuthorizationRevoked):
        return revoked_error(exc)
    name = type(exc).__name__
    pairs = salesforce_errors(exc)
    codes = {code for code, _ in pairs}
    detail = _describe(pairs, str(exc))
    status = _status(exc)
    target = f" on {object_name}" if object_name else ""

    if name == "AirflowNotFoundException":
        return ConfigurationError(
            f"Airflow connection '{conn_id}' is not defined.",
            action=(
                f"Create the Salesforce connection '{conn_id}' (Admin > Connections, an "
                f"AIRFLOW_CONN_{conn_id.upper()} variable or your secrets backend), or fix the "
                "integration's conn_id."
            ),
        )
    if isinstance(exc, TypeError) and "login information" in str(exc):
        return ConfigurationError(
            f"Airflow connection '{conn_id}' holds no usable Salesforce credentials.",
            action=(
                f"Fill in connection '{conn_id}': username + password + security_token, or "
                "consumer key/secret, or a JWT private key (see the README)."
            ),
        )
    if name == "SalesforceAuthenticationFailed" or codes & _AUTH_CODES or status == 401:
        return authorization_error(conn_id, detail)
    if "REQUEST_LIMIT_EXCEEDED" in codes:
        return QuotaError(
            f"Salesforce refused the request{target}: the org's API request limit is exhausted "
            f"({detail}).",
            action="Nothing in this integration can help: the whole org is out of API calls. "
            "Wait for Salesforce's rolling 24-hour window to free some, or ask the Salesforce "
            "admin to find what uses them (Setup > System Overview) or to buy more; rows not "
            "written are retried by the next run.",
        )
    if codes & TRANSIENT_REQUEST_CODES or (status is not None and status >= 500):
        return TransientError(
            f"Salesforce is temporarily unavailable{target} (HTTP {status}: {detail})."
        )
    if _is_network_error(exc):
        return TransientError(
            f"Could not reach Salesforce through connection '{conn_id}'{target}: "
            f"{name}: {redact(str(exc))}"
        )
    if codes & _CONFIG_CODES or (status == 404 and object_name is not None):
        return ConfigurationError(
            f"Salesforce does not accept the integration's object or fields{target}: {detail}",
            action=(
                "Check the object and field API names in the integration's YAML (custom ones end "
                "in __c) and that the connection's user has access to them; `walkme-sync check "
                "--online` lists the problems."
            ),
        )
    if name == "SSLError":
        return SyncError(
            f"TLS verification failed talking to Salesforce through connection '{conn_id}': "
            f"{redact(str(exc))}",
            action="Check REQUESTS_CA_BUNDLE / proxy settings of the Airflow workers.",
        )
    if name in {
        "SalesforceOperationError",
        "SalesforceBulkV2LoadError",
        "SalesforceBulkV2ExtractError",
    }:
        message = redact(str(exc))
        if any(code in message for code in TRANSIENT_REQUEST_CODES):
            return TransientError(f"A Bulk API job{target} failed temporarily: {message}")
        return SyncError(f"A Bulk API job{target} failed: {message}")
    status_text = f"HTTP {status}: " if status else ""
    return SyncError(f"Salesforce returned an error{target} ({status_text}{detail}).")


def _is_network_error(exc: BaseException) -> bool:
    """Connection drops, timeouts and chunked-encoding breaks, but not TLS verification failures."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError
        | ConnectionError
        | TimeoutError,
    )
