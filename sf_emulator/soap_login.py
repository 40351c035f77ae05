"""SOAP partner ``login()``: parsing the envelope, checking the password, the response and faults.

Split from ``auth`` (which routes logins to orgs); the values here are plain bytes and strings.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING
from xml.etree import ElementTree

if TYPE_CHECKING:
    from sf_emulator.identities import OrgIdentity


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def login_fields(body: bytes) -> dict[str, str]:
    """username, password and organizationId from a login envelope, whatever the prefixes."""
    root = ElementTree.fromstring(body)
    wanted = {"username", "password", "organizationId"}
    return {
        local_name(element.tag): (element.text or "")
        for element in root.iter()
        if local_name(element.tag) in wanted
    }


def password_ok(org: OrgIdentity, fields: Mapping[str, str]) -> bool:
    user = org.user
    password = fields.get("password", "")
    if fields.get("organizationId"):
        # LoginScopeHeader: the caller is on a trusted network of that org; no token needed.
        return fields["organizationId"][:15] == org.org_id[:15] and password in (
            user.password,
            user.password + user.security_token,
        )
    return hmac.compare_digest(password, user.password + user.security_token)


def login_response(org: OrgIdentity, session_id: str, instance_url: str, api_version: str) -> bytes:
    server_url = f"{instance_url}/services/Soap/u/{api_version}/{org.org_id[:15]}"
    metadata_url = f"{instance_url}/services/Soap/m/{api_version}/{org.org_id[:15]}"
    user = org.user
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{escape(metadata_url)}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired>"
        f"<sandbox>{str(org.is_sandbox).lower()}</sandbox>"
        f"<serverUrl>{escape(server_url)}</serverUrl>"
        f"<sessionId>{escape(session_id)}</sessionId>"
        f"<userId>{user.user_id}</userId>"
        "<userInfo>"
        f"<organizationId>{org.org_id}</organizationId>"
        f"<userName>{escape(user.username)}</userName>"
        "<sessionSecondsValid>7200</sessionSecondsValid>"
        "</userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def fault_body(code: str, message: str) -> bytes:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode>"
        f"<faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return body.encode()
