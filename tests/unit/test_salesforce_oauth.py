"""Pure parts of the OAuth connect flow: login hosts, PKCE, environments, the reconnect message."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from include.walkme_sync.errors import AuthorizationError
from include.walkme_sync.salesforce import oauth
from include.walkme_sync.salesforce.errors import AuthorizationRevoked, translate


@pytest.mark.parametrize(
    ("environment", "domain", "expected"),
    [
        ("sandbox", None, "https://test.salesforce.com"),
        ("production", None, "https://login.salesforce.com"),
        ("sandbox", "test", "https://test.salesforce.com"),
        ("production", "acme.my", "https://acme.my.salesforce.com"),
        (
            "sandbox",
            "acme--uat.sandbox.my.salesforce.com",
            "https://acme--uat.sandbox.my.salesforce.com",
        ),
        ("production", "https://acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
    ],
)
def test_login_url(environment: str, domain: str | None, expected: str) -> None:
    assert oauth.login_url(environment, domain) == expected


def test_pkce_pair_is_s256_and_the_verifier_stays_out_of_repr() -> None:
    pkce = oauth.Pkce.new()
    digest = hashlib.sha256(pkce.verifier.encode()).digest()
    assert pkce.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(pkce.verifier) <= 128
    assert pkce.verifier not in repr(pkce)
    url = oauth.authorization_url(
        "https://test.salesforce.com",
        consumer_key="key",
        redirect_uri="http://127.0.0.1:1717/callback",
        pkce=pkce,
        state="s",
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge"] == [pkce.challenge]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["api refresh_token"]
    assert pkce.verifier not in url


def test_token_response_hides_tokens() -> None:
    tokens = oauth.TokenResponse.from_json(
        {
            "access_token": "00Dxx!secret-access",
            "refresh_token": "5Aep-secret",
            "instance_url": "https://a.my.salesforce.com/",
            "id": "https://login.salesforce.com/id/1/2",
        }
    )
    assert tokens.instance_url == "https://a.my.salesforce.com"
    assert "secret" not in repr(tokens)


@pytest.mark.parametrize(
    ("instance_url", "domain", "environment"),
    [
        ("https://acme--uat.sandbox.my.salesforce.com", None, "sandbox"),
        ("https://acme.my.salesforce.com", None, "production"),
        ("https://127.0.0.1:18443", "test", "sandbox"),
    ],
)
def test_environment_of(instance_url: str, domain: str | None, environment: str) -> None:
    assert oauth.environment_of(instance_url, domain) == environment


def test_a_revoked_refresh_token_says_which_environment_and_how_to_reconnect() -> None:
    default = translate(
        AuthorizationRevoked(
            "salesforce_sandbox", "sandbox", "invalid_grant", "expired access/refresh token"
        ),
        conn_id="salesforce_sandbox",
    )
    assert isinstance(default, AuthorizationError)
    text = str(default)
    assert "sandbox environment" in text and "revoked or has expired" in text
    assert "`make connect ENV=sandbox`" in text
    other = translate(
        AuthorizationRevoked("sf_eu", "production", "invalid_grant", "x"), conn_id="sf_eu"
    )
    assert "make connect ENV=production CONN_ID=sf_eu" in str(other)
