"""The web-server flow, refresh-token rotation, revocation and identity, as Salesforce answers them.

Requests go to the real host names through the emulator's proxy, as a browser or client would.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

SANDBOX_LOGIN = "https://test.salesforce.com"
SANDBOX_INSTANCE = "https://walkme-demo--uat.sandbox.my.salesforce.com"
CALLBACK = "http://127.0.0.1:1717/callback"
VERIFIER = "v" * 43 + "-verifier-of-this-test"


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def browser(emulator: Any) -> requests.Session:
    session = requests.Session()
    session.proxies = {"https": emulator.proxy_url}
    return session


def authorize_params(emulator: Any, **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": emulator.org("sandbox").credentials["client_id"],
        "redirect_uri": CALLBACK,
        "code_challenge": challenge(VERIFIER),
        "code_challenge_method": "S256",
        "state": "state-123",
        "scope": "api refresh_token",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value}


def consent(emulator: Any, decision: str = "approve", password: str | None = None) -> Any:
    """GET the authorize page, then POST its form as the user would; the un-followed answer."""
    session = browser(emulator)
    params = authorize_params(emulator)
    page = session.get(f"{SANDBOX_LOGIN}/services/oauth2/authorize", params=params, timeout=10)
    assert page.status_code == 200 and "Allow Access?" in page.text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    assert hidden["state"] == "state-123" and hidden["code_challenge"] == params["code_challenge"]
    credentials = emulator.org("sandbox").credentials
    form = {
        **hidden,
        "username": credentials["username"],
        "password": password or credentials["password"],
        "decision": decision,
    }
    return session.post(
        f"{SANDBOX_LOGIN}/services/oauth2/authorize",
        data=form,
        allow_redirects=False,
        timeout=10,
    )


def redeem(emulator: Any, code: str, verifier: str = VERIFIER, **extra: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": emulator.org("sandbox").credentials["client_id"],
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        **extra,
    }
    return browser(emulator).post(f"{SANDBOX_LOGIN}/services/oauth2/token", data=form, timeout=10)


def code_from(answer: Any) -> str:
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["state-123"]
    return query["code"][0]


def refresh(emulator: Any, token: str, host: str = SANDBOX_INSTANCE) -> Any:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": emulator.org("sandbox").credentials["client_id"],
    }
    return browser(emulator).post(f"{host}/services/oauth2/token", data=form, timeout=10)


def test_code_with_pkce_gives_tokens_once(sf_emulator: Any) -> None:
    code = code_from(consent(sf_emulator))
    tokens = redeem(sf_emulator, code)
    assert tokens.status_code == 200
    payload = tokens.json()
    assert payload["instance_url"] == SANDBOX_INSTANCE
    assert payload["refresh_token"] and payload["scope"] == "api refresh_token"
    assert payload["id"].startswith(f"{SANDBOX_LOGIN}/id/00D0U000000WkSbUAK/")
    again = redeem(sf_emulator, code)  # a code is single-use
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_wrong_verifier_and_wrong_redirect_are_invalid_grant(sf_emulator: Any) -> None:
    wrong = redeem(sf_emulator, code_from(consent(sf_emulator)), verifier="x" * 50)
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}
    moved = redeem(
        sf_emulator, code_from(consent(sf_emulator)), redirect_uri="http://127.0.0.1:9/other"
    )
    assert moved.json()["error"] == "invalid_grant"


def test_denied_consent_and_bad_password_issue_no_code(sf_emulator: Any) -> None:
    denied = consent(sf_emulator, decision="deny")
    query = parse_qs(urlsplit(denied.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["state-123"]
    retry = consent(sf_emulator, password="not-the-password")
    assert retry.status_code == 200 and "check your username and password" in retry.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_refuses_flows_without_pkce(
    sf_emulator: Any, overrides: dict[str, str], error: str
) -> None:
    params = authorize_params(sf_emulator, **overrides)
    answer = browser(sf_emulator).get(
        f"{SANDBOX_LOGIN}/services/oauth2/authorize?{urlencode(params)}",
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == [error]


def test_unknown_client_and_foreign_callback_get_an_error_page(sf_emulator: Any) -> None:
    session = browser(sf_emulator)
    url = f"{SANDBOX_LOGIN}/services/oauth2/authorize"
    unknown = session.get(url, params=authorize_params(sf_emulator, client_id="nope"), timeout=10)
    assert unknown.status_code == 400 and "invalid_client_id" in unknown.text
    foreign = authorize_params(sf_emulator, redirect_uri="https://evil.example/callback")
    answer = session.get(url, params=foreign, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "redirect_uri_mismatch" in answer.text


def test_rotation_revocation_userinfo_and_identity(sf_emulator: Any) -> None:
    tokens = redeem(sf_emulator, code_from(consent(sf_emulator))).json()
    first = tokens["refresh_token"]
    plain = refresh(sf_emulator, first)
    assert plain.status_code == 200 and "refresh_token" not in plain.json()

    sf_emulator.rotate_refresh_tokens = True
    rotated = refresh(sf_emulator, first).json()
    second = rotated["refresh_token"]
    assert second != first
    assert refresh(sf_emulator, first).json()["error"] == "invalid_grant"  # the old one is dead
    # A token of the sandbox is no good at production's login host.
    elsewhere = refresh(sf_emulator, second, host="https://login.salesforce.com")
    assert elsewhere.json()["error"] == "invalid_grant"

    bearer = {"Authorization": f"Bearer {rotated['access_token']}"}
    session = browser(sf_emulator)
    info = session.get(f"{SANDBOX_INSTANCE}/services/oauth2/userinfo", headers=bearer, timeout=10)
    assert info.json()["preferred_username"] == "demo@walkme-sandbox.example"
    identity = session.get(rotated["id"], headers=bearer, timeout=10).json()
    assert identity["organization_id"] == "00D0U000000WkSbUAK"
    assert identity["urls"]["rest"] == f"{SANDBOX_INSTANCE}/services/data/v{{version}}/"

    revoked = session.post(
        f"{SANDBOX_INSTANCE}/services/oauth2/revoke", data={"token": second}, timeout=10
    )
    assert revoked.status_code == 200
    assert refresh(sf_emulator, second).json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    after = session.get(f"{SANDBOX_INSTANCE}/services/oauth2/userinfo", headers=bearer, timeout=10)
    assert after.status_code == 403  # the refresh token took its sessions with it


def test_org_wide_revocation_and_field_access(sf_emulator: Any, direct: Any) -> None:
    tokens = redeem(sf_emulator, code_from(consent(sf_emulator))).json()
    assert sf_emulator.org("sandbox").revoke_oauth_tokens() == 1
    assert refresh(sf_emulator, tokens["refresh_token"]).json()["error"] == "invalid_grant"

    sandbox = sf_emulator.org("sandbox")
    sandbox.set_field_access("Lead", "WalkMe_Last_Login__c", "read")
    sandbox.set_field_access("Lead", "WalkMe_NPS_Score__c", "none")
    fields = {f["name"]: f for f in direct.Lead.describe()["fields"]}
    assert fields["WalkMe_Last_Login__c"]["updateable"] is False
    assert "WalkMe_NPS_Score__c" not in fields
    sandbox.set_field_access("Lead", "WalkMe_Last_Login__c", "edit")
    fields = {f["name"]: f for f in direct.Lead.describe()["fields"]}
    assert fields["WalkMe_Last_Login__c"]["updateable"] is True


def test_query_columns_record_urls_and_limits(sf_emulator: Any, direct: Any) -> None:
    sf_emulator.org("sandbox").data.load_records(
        "Lead", [{"LastName": "Doe", "Company": "Acme", "Email": "d@acme.example"}]
    )
    base = f"{sf_emulator.instance_url}/services/data/v62.0"
    headers = {"Authorization": f"Bearer {direct.session_id}"}
    soql = "SELECT Id, Email, WalkMe_Logins_Last_30_Days__c FROM Lead"
    columns = requests.get(
        f"{base}/query", params={"q": soql, "columns": "true"}, headers=headers, timeout=10
    ).json()
    assert [c["columnName"] for c in columns["columnMetadata"]] == [
        "Id",
        "Email",
        "WalkMe_Logins_Last_30_Days__c",
    ]
    assert columns["entityName"] == "Lead" and columns["columnMetadata"][2]["numberType"] is True
    records = requests.get(f"{base}/query", params={"q": soql}, headers=headers, timeout=10)
    url = records.json()["records"][0]["attributes"]["url"]
    assert url.startswith("/services/data/v62.0/sobjects/Lead/")
    record_id = url.rsplit("/", 1)[1]
    single = requests.get(f"{base}/sobjects/Lead/{record_id}", headers=headers, timeout=10)
    assert single.json()["attributes"]["url"] == url

    limits = requests.get(f"{base}/limits", headers=headers, timeout=10).json()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert {"DailyBulkV2QueryJobs", "DataStorageMB", "FileStorageMB", "SingleEmail"} <= set(limits)

    org = direct.query(
        "SELECT Name, IsSandbox, InstanceName, NamespacePrefix, TrialExpirationDate, "
        "OrganizationType FROM Organization"
    )["records"][0]
    assert (org["IsSandbox"], org["InstanceName"], org["NamespacePrefix"]) == (True, "CS210", None)
    user = direct.query("SELECT Username, Email, Name, IsActive, ProfileId FROM User")["records"][0]
    assert user["Username"] == "demo@walkme-sandbox.example" and user["IsActive"] is True
