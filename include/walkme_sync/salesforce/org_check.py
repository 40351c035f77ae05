"""Test connection: log in, say which org it is, and whether each integration's fields are usable.

The org part reads `Organization` (name, sandbox or not, edition, instance), the API version the
client speaks and the newest the org offers, and the daily API usage from `/limits`. The field part
describes each integration's object once and checks every field it needs as the integration user
sees it: a field missing from describe cannot be read (field-level security hides it), and a
mapped field that is not `updateable` cannot be written. Nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from include.walkme_sync.errors import ConfigurationError, SyncError
from include.walkme_sync.salesforce.describe import describe_object
from include.walkme_sync.salesforce.errors import translate

if TYPE_CHECKING:
    from include.walkme_sync.config.models import IntegrationConfig
    from include.walkme_sync.metadata import ObjectInfo
    from include.walkme_sync.salesforce.client import SalesforceSession


@dataclass(frozen=True)
class OrgReport:
    """Who the connection reaches."""

    conn_id: str
    name: str
    org_id: str
    is_sandbox: bool
    edition: str
    instance_name: str
    instance_url: str
    username: str
    api_version: str
    latest_api_version: str
    daily_api_used: int | None
    daily_api_limit: int | None

    @property
    def kind(self) -> str:
        return "sandbox" if self.is_sandbox else "production"


@dataclass(frozen=True)
class FieldCheck:
    """One field an integration needs, as the integration user sees it."""

    object_name: str
    field: str
    role: str  # "key" (read and filter) or "mapped" (read and update)
    readable: bool
    updateable: bool

    @property
    def ok(self) -> bool:
        return self.readable and (self.role == "key" or self.updateable)

    @property
    def problem(self) -> str:
        if not self.readable:
            return (
                "not visible to the integration user (missing, or hidden by field-level security)"
            )
        if self.role == "mapped" and not self.updateable:
            return "read-only for the integration user (no edit access, or a formula/system field)"
        return ""


@dataclass
class IntegrationCheck:
    integration_id: str
    object_name: str
    fields: list[FieldCheck] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and all(check.ok for check in self.fields)


@dataclass
class ConnectionReport:
    org: OrgReport
    integrations: list[IntegrationCheck]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.integrations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "org": {**asdict(self.org), "kind": self.org.kind},
            "integrations": [
                {
                    "id": check.integration_id,
                    "object": check.object_name,
                    "ok": check.ok,
                    "error": check.error,
                    "fields": [
                        {**asdict(f), "ok": f.ok, "problem": f.problem} for f in check.fields
                    ],
                }
                for check in self.integrations
            ],
        }


def org_report(session: SalesforceSession) -> OrgReport:
    """Organization, user, API versions and daily API usage (four API calls)."""
    sf = session.sf
    try:
        org = sf.query(
            "SELECT Id, Name, IsSandbox, OrganizationType, InstanceName FROM Organization LIMIT 1"
        )["records"][0]
        identity = sf.oauth2("userinfo", params={}, method="GET")
        versions = sf._call_salesforce("GET", f"https://{sf.sf_instance}/services/data/").json()
        limits = sf.limits()
    except Exception as exc:
        raise translate(exc, conn_id=session.conn_id) from None
    daily = limits.get("DailyApiRequests") or {}
    maximum, remaining = daily.get("Max"), daily.get("Remaining")
    used = maximum - remaining if isinstance(maximum, int) and isinstance(remaining, int) else None
    return OrgReport(
        conn_id=session.conn_id,
        name=str(org.get("Name") or ""),
        org_id=str(org.get("Id") or ""),
        is_sandbox=bool(org.get("IsSandbox")),
        edition=str(org.get("OrganizationType") or ""),
        instance_name=str(org.get("InstanceName") or ""),
        instance_url=f"https://{session.instance}",
        username=str((identity or {}).get("preferred_username") or ""),
        api_version=session.api_version,
        latest_api_version=max((str(v["version"]) for v in versions), key=float, default=""),
        daily_api_used=used,
        daily_api_limit=maximum if isinstance(maximum, int) else None,
    )


def check_fields(info: ObjectInfo, config: IntegrationConfig) -> list[FieldCheck]:
    """The key field (read) and every mapped field (read and update) against describe."""
    wanted = [(config.object.key_field, "key")]
    wanted += [(name, "mapped") for name in config.mapped_fields]
    checks = []
    for name, role in wanted:
        described = info.field(name)
        checks.append(
            FieldCheck(
                object_name=info.name,
                field=described.name if described else name,
                role=role,
                readable=described is not None,
                updateable=bool(described and described.updateable),
            )
        )
    return checks


def check_connection(
    session: SalesforceSession, integrations: list[IntegrationConfig]
) -> ConnectionReport:
    """The org and, for each integration on this connection, its fields (one describe each)."""
    report = ConnectionReport(org=org_report(session), integrations=[])
    described: dict[str, ObjectInfo | str] = {}
    for config in integrations:
        name = config.object.name
        if name not in described:
            try:
                described[name] = describe_object(session, name)
            except ConfigurationError as exc:
                described[name] = str(exc.args[0])
            except SyncError:
                raise
        info = described[name]
        check = IntegrationCheck(config.id, name)
        if isinstance(info, str):
            check.error = info
        else:
            check.fields = check_fields(info, config)
        report.integrations.append(check)
    return report


def render(report: ConnectionReport) -> str:
    """The report as a person reads it in a terminal or the UI page (no secrets in it)."""
    org = report.org
    usage = (
        f"{org.daily_api_used:,} of {org.daily_api_limit:,} daily API requests used"
        if org.daily_api_used is not None and org.daily_api_limit
        else "daily API usage unknown"
    )
    lines = [
        f"Connection '{org.conn_id}': {org.name} ({org.kind}, {org.edition}), "
        f"org {org.org_id}, instance {org.instance_name} at {org.instance_url}",
        f"Signed in as {org.username or 'unknown user'}; API v{org.api_version} "
        f"(org offers up to v{org.latest_api_version}); {usage}.",
    ]
    if not report.integrations:
        lines.append("No integration uses this connection.")
    for check in report.integrations:
        status = "OK" if check.ok else "PROBLEMS"
        lines.append(f"Integration {check.integration_id} -> {check.object_name}: {status}")
        if check.error:
            lines.append(f"  {check.error}")
        for item in check.fields:
            read = "read yes" if item.readable else "read NO"
            update = (
                "" if item.role == "key" else (", update yes" if item.updateable else ", update NO")
            )
            note = f"  <- {item.problem}" if item.problem else ""
            lines.append(f"  {item.object_name}.{item.field} ({item.role}): {read}{update}{note}")
    return "\n".join(lines)
