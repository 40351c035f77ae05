"""Logins against the emulator with the unmodified simple-salesforce client, as for a real org."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

LEAD = {"LastName": "Doe", "Company": "Acme", "Email": "jane.doe@acme.example"}


def token_request(emulator: Any, host: str, form: dict[str, str], **kwargs: Any) -> Any:
    """POST to a real Salesforce token URL through the emulator's proxy."""
    return requests.post(
        f"https://{host}/services/oauth2/token",
        data=form,
        proxies={"https": emulator.proxy_url},
        timeout=10,
        **kwargs,
    )


def password_form(credentials: dict[str, str]) -> dict[str, str]:
    return {
        "grant_type": "password",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "username": credentials["username"],
        "password": credentials["password"],
    }


def test_soap_login_reaches_each_org_on_its_real_host(
    sf_emulator: Any, password_login: Callable[[str], Salesforce]
) -> None:
    sandbox = password_login("sandbox")
    production = password_login("production")

    assert sandbox.sf_instance == "walkme-demo--uat.sandbox.my.salesforce.com"
    assert production.sf_instance == "walkme-demo.my.salesforce.com"
    sandbox.Lead.create(LEAD)
    assert sandbox.query("SELECT Id FROM Lead")["totalSize"] == 1
    assert production.query("SELECT Id FROM Lead")["totalSize"] == 0
    assert sf_emulator.org("production").data.count("Lead") == 0


def test_bad_password_fails_like_salesforce(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("sandbox").credentials
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=credentials["username"],
            password="wrong",
            security_token=credentials["security_token"],
            domain="test",
            proxies={"https": sf_emulator.proxy_url},
        )
    assert failure.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in failure.value.auth_message


def test_sandbox_user_cannot_log_in_at_the_production_login_host(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("sandbox").credentials
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            username=credentials["username"],
            password=credentials["password"],
            security_token=credentials["security_token"],  # domain defaults to "login"
            proxies={"https": sf_emulator.proxy_url},
        )


def test_organization_id_login_needs_no_security_token(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("production").credentials
    sf = Salesforce(
        username=credentials["username"],
        password=credentials["password"],
        organizationId=credentials["org_id"],
        proxies={"https": sf_emulator.proxy_url},
    )
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_soap_login_on_the_direct_address_uses_the_domain_trick(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("production").credentials
    sf = Salesforce(
        username=credentials["username"],
        password=credentials["password"],
        security_token=credentials["security_token"],
        domain=f"127.0.0.1:{sf_emulator.port}/services/Soap/u/59.0?d=",
    )
    assert sf.sf_instance == f"127.0.0.1:{sf_emulator.port}"
    sf.Lead.create(LEAD)
    assert sf_emulator.org("production").data.count("Lead") == 1


def test_oauth_password_flow(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("sandbox").credentials
    sf = Salesforce(
        username=credentials["username"],
        password=credentials["password"],
        consumer_key=credentials["client_id"],
        consumer_secret=credentials["client_secret"],
        domain="test",
        proxies={"https": sf_emulator.proxy_url},
    )
    assert sf.sf_instance == "walkme-demo--uat.sandbox.my.salesforce.com"
    assert sf.query("SELECT Id FROM Lead")["done"] is True


def test_oauth_password_flow_with_a_wrong_secret_fails(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("sandbox").credentials
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=credentials["username"],
            password=credentials["password"],
            consumer_key=credentials["client_id"],
            consumer_secret="not-the-secret",
            domain="test",
            proxies={"https": sf_emulator.proxy_url},
        )
    assert failure.value.code == "invalid_client"


@pytest.mark.parametrize("org", ["sandbox", "production"])
def test_jwt_bearer_flow(sf_emulator: Any, org: str) -> None:
    credentials = sf_emulator.org(org).credentials
    sf = Salesforce(
        username=credentials["username"],
        consumer_key=credentials["client_id"],
        privatekey_file=credentials["private_key_path"],
        domain=credentials["domain"],
        proxies={"https": sf_emulator.proxy_url},
    )
    assert sf.sf_instance == credentials["instance_host"]
    sf.Lead.create(LEAD)
    assert sf_emulator.org(org).data.count("Lead") == 1


def test_jwt_signed_with_an_unregistered_key_is_refused(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("sandbox").credentials
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=credentials["username"],
            consumer_key=credentials["client_id"],
            privatekey=stranger.decode(),
            domain="test",
            proxies={"https": sf_emulator.proxy_url},
        )
    assert failure.value.code == "invalid_grant"


def test_jwt_audience_must_be_the_org_login_host(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("sandbox").credentials
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        Salesforce(
            username=credentials["username"],
            consumer_key=credentials["client_id"],
            privatekey_file=credentials["private_key_path"],
            domain="login",  # aud https://login.salesforce.com for a sandbox user
            proxies={"https": sf_emulator.proxy_url},
        )
    assert failure.value.code in ("invalid_grant", "invalid_client_id")


def test_client_credentials_flow_on_my_domain(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("production").credentials
    sf = Salesforce(
        consumer_key=credentials["client_id"],
        consumer_secret=credentials["client_secret"],
        domain=credentials["my_domain"],
        proxies={"https": sf_emulator.proxy_url},
    )
    assert sf.sf_instance == "walkme-demo.my.salesforce.com"
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_client_credentials_are_refused_on_the_login_host(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("production").credentials
    response = token_request(
        sf_emulator,
        "login.salesforce.com",
        {"grant_type": "client_credentials"},
        auth=(credentials["client_id"], credentials["client_secret"]),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_token_and_revoke(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("sandbox").credentials
    host = "test.salesforce.com"
    first = token_request(sf_emulator, host, password_form(credentials)).json()
    assert first["instance_url"] == "https://walkme-demo--uat.sandbox.my.salesforce.com"
    refresh_token = first["refresh_token"]

    refreshed = token_request(
        sf_emulator,
        host,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        },
    ).json()
    sf = Salesforce(
        instance_url=refreshed["instance_url"],
        session_id=refreshed["access_token"],
        proxies={"https": sf_emulator.proxy_url},
    )
    assert sf.query("SELECT Id FROM Lead")["done"] is True

    # Revoking the refresh token also kills the access tokens issued from it.
    sf.oauth2("revoke", params={"token": refresh_token}, method="POST")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Lead")
    again = token_request(
        sf_emulator,
        host,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": credentials["client_id"],
        },
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_revoking_an_unknown_token_is_invalid_token(sf_emulator: Any) -> None:
    response = requests.post(
        f"{sf_emulator.instance_url}/services/oauth2/revoke", data={"token": "nope"}, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_token"


def test_token_endpoint_password_grant_on_direct_address(sf_emulator: Any) -> None:
    credentials = sf_emulator.org("production").credentials
    response = requests.post(
        f"{sf_emulator.instance_url}/services/oauth2/token",
        data=password_form(credentials),
        timeout=10,
    )
    payload = response.json()
    assert response.status_code == 200
    assert payload["instance_url"] == sf_emulator.instance_url
    assert not payload["instance_url"].endswith("/")
    assert payload["token_type"] == "Bearer"


def test_bad_password_grant_is_invalid_grant(sf_emulator: Any) -> None:
    credentials = dict(sf_emulator.org("production").credentials, password="wrong")
    response = token_request(sf_emulator, "login.salesforce.com", password_form(credentials))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "authentication failure",
    }


def test_expired_session_is_renewed_by_password_clients(
    sf_emulator: Any, sandbox: Salesforce
) -> None:
    old_session = sandbox.session_id
    sf_emulator.faults.expire_sessions("sandbox")
    assert sandbox.query("SELECT Id FROM Lead")["done"] is True
    assert sandbox.session_id != old_session


def test_expired_direct_session_is_invalid_session_id(sf_emulator: Any, direct: Salesforce) -> None:
    sf_emulator.faults.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as failure:
        direct.query("SELECT Id FROM Lead")
    assert failure.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_a_session_is_only_valid_on_its_own_org(sf_emulator: Any) -> None:
    token = sf_emulator.issue_session("sandbox")
    on_production = Salesforce(
        instance_url="https://walkme-demo.my.salesforce.com",
        session_id=token,
        proxies={"https": sf_emulator.proxy_url},
    )
    with pytest.raises(SalesforceExpiredSession):
        on_production.query("SELECT Id FROM Lead")


def test_proxy_refuses_hosts_that_are_not_salesforce(sf_emulator: Any) -> None:
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", proxies={"https": sf_emulator.proxy_url}, timeout=10)
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get(
            "https://unknown-org.my.salesforce.com/",
            proxies={"https": sf_emulator.proxy_url},
            timeout=10,
        )


def test_dns_is_limited_to_loopback_during_emulator_tests(sf_emulator: Any) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("login.salesforce.com", 443)
    assert socket.getaddrinfo("127.0.0.1", 443)
