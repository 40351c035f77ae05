"""Fetch an object's describe metadata (one API call) as `metadata.ObjectInfo`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.metadata import FieldInfo, ObjectInfo
from include.walkme_sync.salesforce.errors import translate

if TYPE_CHECKING:
    from include.walkme_sync.salesforce.client import SalesforceSession


_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def describe_object(session: SalesforceSession, object_name: str) -> ObjectInfo:
    """Fetch `object_name`'s describe metadata (one API call).

    An unknown object, or one the connection's user cannot see, raises `ConfigurationError`.
    """
    if not _API_NAME.match(object_name):
        raise ConfigurationError(
            f"'{object_name}' is not a valid Salesforce object API name.",
            action="Use the object's API name, e.g. Lead, Contact or WalkMe_User__c.",
        )
    try:
        raw = session.sf.restful(f"sobjects/{object_name}/describe")
    except Exception as exc:
        if getattr(exc, "status", None) == 404 or "INVALID_TYPE" in str(
            getattr(exc, "content", "")
        ):
            raise ConfigurationError(
                f"Salesforce object '{object_name}' does not exist in the org behind connection "
                f"'{session.conn_id}', or the connection's user is not allowed to see it.",
                action=(
                    "Check the object's API name in the integration's YAML (custom objects end in "
                    "__c) and ask the Salesforce admin to grant the integration user access to it."
                ),
            ) from None
        raise translate(exc, conn_id=session.conn_id, object_name=object_name) from None
    fields = {f.name: f for f in (FieldInfo.from_describe(item) for item in raw.get("fields", []))}
    return ObjectInfo(
        name=str(raw.get("name", object_name)),
        label=str(raw.get("label", object_name)),
        fields=fields,
        updateable=bool(raw.get("updateable", True)),
        createable=bool(raw.get("createable", True)),
    )
