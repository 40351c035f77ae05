"""The one base integration config the tests vary: the seed's Login Review -> Lead example."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

#: The demo integrations (`make run` / `make sync`); the engine's default folder ships empty.
DEMO_INTEGRATIONS = Path(__file__).resolve().parents[1] / "demo" / "integrations"

LOGIN_REVIEW_TO_LEAD: dict[str, Any] = {
    "id": "login_review_to_lead",
    "name": "Login Review -> Lead",
    "environment": "sandbox",
    "report": {
        "name": "login_review",
        "source": {"kind": "files", "location": "demo/samples/login_review"},
        "key_column": "User ID",
        "key_kind": "email",
    },
    "object": {"name": "Lead", "key_field": "Email"},
    "mappings": [
        {"column": "Last Login", "field": "WalkMe_Last_Login__c"},
        {"column": "First Login", "field": "WalkMe_First_Login__c"},
        {"column": "Logins in Past 30 days", "field": "WalkMe_Logins_Last_30_Days__c"},
    ],
}


def login_review_raw(**overrides: Any) -> dict[str, Any]:
    """A deep copy of the base config with top-level keys replaced."""
    raw = copy.deepcopy(LOGIN_REVIEW_TO_LEAD)
    raw.update(copy.deepcopy(overrides))
    return raw


def login_review_config(**overrides: Any) -> Any:
    """The base config (plus overrides) as a validated `IntegrationConfig`."""
    from include.walkme_sync.config import IntegrationConfig

    raw = login_review_raw(source_file="demo/integrations/login_review_to_lead.yaml")
    raw.update(copy.deepcopy(overrides))
    return IntegrationConfig.model_validate(raw)
