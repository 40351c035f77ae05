"""Who the emulated orgs are: ids, login and My Domain hosts, the integration user, its app.

Two independent orgs exist, ``sandbox`` and ``production``, with deterministic credentials so the
docs, the CLI and the tests can name them. ``auth`` routes logins to them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sf_emulator.ca import generate_rsa_key_pair

SANDBOX = "sandbox"
PRODUCTION = "production"
ORG_NAMES = (SANDBOX, PRODUCTION)
PRODUCTION_LOGIN_HOST = "login.salesforce.com"
SANDBOX_LOGIN_HOST = "test.salesforce.com"


@dataclass(frozen=True)
class DemoUser:
    """The one integration user of an org and its connected app."""

    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    user_id: str
    first_name: str = "Integration"
    last_name: str = "User"
    profile_id: str = "00e000000000001AAA"

    @property
    def email(self) -> str:
        return self.username

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class OrgIdentity:
    """Who an org is: id, hosts, user, and the certificate registered for the JWT flow."""

    name: str
    org_id: str
    login_host: str
    instance_host: str
    user: DemoUser
    jwt_private_key_path: Path | None = None
    jwt_certificate_path: Path | None = None

    @property
    def is_sandbox(self) -> bool:
        return self.login_host == SANDBOX_LOGIN_HOST

    @property
    def my_domain(self) -> str:
        """The ``domain`` a simple-salesforce / Airflow connection uses to reach the My Domain."""
        return self.instance_host.removesuffix(".salesforce.com")

    @property
    def login_domain(self) -> str:
        """``test`` for sandboxes, ``login`` for production (the connection's ``domain``)."""
        return self.login_host.removesuffix(".salesforce.com")

    def serves_host(self, host: str) -> bool:
        return host in (self.login_host, self.instance_host)


def default_identities() -> dict[str, OrgIdentity]:
    """Deterministic demo orgs, so docs, the CLI and tests can name the credentials."""
    return {
        SANDBOX: OrgIdentity(
            name=SANDBOX,
            org_id="00D0U000000WkSbUAK",
            login_host=SANDBOX_LOGIN_HOST,
            instance_host="walkme-demo--uat.sandbox.my.salesforce.com",
            user=DemoUser(
                username="demo@walkme-sandbox.example",
                password="Sandbox-Demo-Pass-1",
                security_token="SbxDemoSecurityToken01",
                client_id="3MVG9EmulatorSandboxConnectedAppClientId",
                client_secret="SANDBOX0EMULATOR0CLIENT0SECRET01",
                user_id="0050U000000WkSbQAK",
            ),
        ),
        PRODUCTION: OrgIdentity(
            name=PRODUCTION,
            org_id="00D5e000000WkPrEAK",
            login_host=PRODUCTION_LOGIN_HOST,
            instance_host="walkme-demo.my.salesforce.com",
            user=DemoUser(
                username="demo@walkme-prod.example",
                password="Production-Demo-Pass-1",
                security_token="PrdDemoSecurityToken01",
                client_id="3MVG9EmulatorProductionConnectedAppClientId",
                client_secret="PRODUCTION0EMULATOR0CLIENT0SECRET",
                user_id="0055e000000WkPrAAK",
            ),
        ),
    }


def with_jwt_keys(identity: OrgIdentity, data_dir: Path) -> OrgIdentity:
    """Attach (creating once) the org's JWT key pair: the private key is the client's half."""
    key_path = data_dir / f"jwt-{identity.name}-key.pem"
    cert_path = data_dir / f"jwt-{identity.name}-cert.pem"
    generate_rsa_key_pair(key_path, cert_path, f"{identity.name} connected app")
    return replace(identity, jwt_private_key_path=key_path, jwt_certificate_path=cert_path)


def system_records(identity: OrgIdentity) -> dict[str, list[dict[str, Any]]]:
    """The org's own rows: its ``Organization`` record and its integration ``User``."""
    user = identity.user
    organization: dict[str, Any] = {
        "Id": identity.org_id,
        "Name": "WalkMe Demo (UAT)" if identity.is_sandbox else "WalkMe Demo",
        "Country": "United States",
        "PrimaryContact": user.display_name,
        "DefaultLocaleSidKey": "en_US",
        "LanguageLocaleKey": "en_US",
        "TimeZoneSidKey": "GMT",
        "IsSandbox": identity.is_sandbox,
        "InstanceName": "CS210" if identity.is_sandbox else "NA224",
        "NamespacePrefix": None,
        "OrganizationType": "Enterprise Edition",
        "TrialExpirationDate": None,
        "IsReadOnly": False,
    }
    integration_user: dict[str, Any] = {
        "Id": user.user_id,
        "Username": user.username,
        "FirstName": user.first_name,
        "LastName": user.last_name,
        "Email": user.email,
        "Alias": "intuser",
        "CommunityNickname": user.username.split("@")[0],
        "IsActive": True,
        "UserType": "Standard",
        "ProfileId": user.profile_id,
        "TimeZoneSidKey": "GMT",
        "LocaleSidKey": "en_US",
        "LanguageLocaleKey": "en_US",
        "EmailEncodingKey": "UTF-8",
    }
    return {"Organization": [organization], "User": [integration_user]}
