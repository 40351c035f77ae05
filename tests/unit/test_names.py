"""Salesforce API-name rules and suggestions."""

from __future__ import annotations

import pytest

from include.walkme_sync.config.names import (
    api_name_problem,
    is_custom_name,
    is_legal_api_name,
    split_api_name,
    suggest_api_name,
)


@pytest.mark.parametrize(
    "name",
    [
        "Email",
        "Lead",
        "AccountId",
        "WalkMe_Logins_Last_30_Days__c",
        "WalkMe_User__c",
        "Account__r",
        "ns__WalkMe_Score__c",
        "A" * 40 + "__c",
    ],
)
def test_legal_names(name: str) -> None:
    assert is_legal_api_name(name), api_name_problem(name)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("WalkMe_#_Logins_last_30_days", "only letters, digits and underscores"),
        ("WalkMe Score__c", "only letters, digits and underscores"),
        ("1st_Login__c", "must start with a letter"),
        ("_Score__c", "must start with a letter"),
        ("WalkMe__Score__Extra__c", "two underscores in a row"),
        ("WalkMe_Score___c", "two underscores in a row"),
        ("Score_", "end with an underscore"),
        ("A" * 41 + "__c", "at most 40 characters"),
        ("", "cannot be empty"),
        ("__c", "needs a name before its suffix"),
        ("Café__c", "only letters, digits and underscores"),
    ],
)
def test_illegal_names_say_why(name: str, problem: str) -> None:
    assert not is_legal_api_name(name)
    assert problem in (api_name_problem(name) or "")


def test_seed_example_suggestion() -> None:
    assert suggest_api_name("WalkMe_#_Logins_last_30_days") == "WalkMe_Logins_Last_30_Days__c"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Logins in Past 30 days", "Logins_In_Past_30_Days__c"),
        ("WalkMe__Score__Extra__c", "WalkMe_Score_Extra__c"),
        ("1st_Login", "X1st_Login__c"),
        ("Score_", "Score__c"),
        ("Café_né", "Cafe_Ne__c"),
        ("###", "Field__c"),
        ("WalkMe_Score__c", "WalkMe_Score__c"),  # legal: unchanged
        ("Email", "Email"),  # legal standard field: unchanged
    ],
)
def test_suggestions(name: str, suggestion: str) -> None:
    assert suggest_api_name(name) == suggestion
    assert is_legal_api_name(suggestion)


def test_suggestion_respects_length_limit() -> None:
    suggestion = suggest_api_name("WalkMe " + "very long words " * 10)
    assert is_legal_api_name(suggestion)
    assert len(suggestion) <= 40 + len("__c")


def test_standard_suggestion_without_custom_suffix() -> None:
    assert suggest_api_name("Annual Revenue", custom=False) == "Annual_Revenue"


def test_split_and_custom() -> None:
    assert split_api_name("ns__Score__c") == ("ns", "Score", "c")
    assert split_api_name("Email") == (None, "Email", None)
    assert is_custom_name("WalkMe_X__c")
    assert not is_custom_name("Email")
