"""The emulator's SOQL: parsing, escapes, case-insensitive comparison, ordering, errors, indexes."""

from __future__ import annotations

from datetime import date

import pytest

from sf_emulator import soql, soql_eval, soql_syntax
from sf_emulator.model import load_schemas
from sf_emulator.results import ApiError
from sf_emulator.store import OrgData

SCHEMAS = load_schemas()


@pytest.fixture
def org() -> OrgData:
    org = OrgData("soql", "00D000000000001AAA", SCHEMAS)
    org.load_records(
        "Contact",
        [
            {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": "Ada.Lovelace@Example.com",
                "WalkMe_NPS_Score__c": 9,
                "WalkMe_Last_Login__c": "2024-01-31T10:00:00Z",
                "WalkMe_Quiz_Date__c": "2024-01-15",
                "WalkMe_TeachMe_Completed__c": True,
                "Title": "Countess",
            },
            {
                "FirstName": "Grace",
                "LastName": "Hopper",
                "Email": "grace@navy.mil",
                "WalkMe_NPS_Score__c": 7,
                "WalkMe_Last_Login__c": "2024-02-01T08:00:00Z",
                "WalkMe_Quiz_Date__c": "2024-02-01",
            },
            {"FirstName": "Alan", "LastName": "Turing", "Email": "alan@example.com"},
            {"LastName": "O'Brien", "Title": "50% off_sale \\ back"},
        ],
    )
    return org


def names(org: OrgData, where: str, order: str = "ORDER BY LastName") -> list[str]:
    result = org.query(f"SELECT LastName FROM Contact WHERE {where} {order}")
    return [r["LastName"] for r in result.records]


def query_error(org: OrgData, text: str) -> ApiError:
    with pytest.raises(ApiError) as raised:
        org.query(text)
    assert raised.value.http_status == 400
    return raised.value


# ------------------------------------------------------------------------------------------
# literals and escapes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (r"it\'s", "it's"),
        (r"say \"hi\"", 'say "hi"'),
        (r"back\\slash", "back\\slash"),
        (r"a\nb\rc\td\be\ff", "a\nb\rc\td\be\ff"),
        (r"caf\u00e9", "café"),
    ],
)
def test_string_escapes_decode(body: str, value: str) -> None:
    assert soql_syntax.decode_string(body) == value


@pytest.mark.parametrize("body", [r"bad\q", r"\u12", r"\uZZZZ"])
def test_illegal_escapes_are_malformed(body: str) -> None:
    with pytest.raises(soql_syntax.SoqlError) as raised:
        soql_syntax.decode_string(body)
    assert raised.value.error_code == "MALFORMED_QUERY"


def test_escaped_quote_in_literal_is_data_not_syntax(org: OrgData) -> None:
    org.load_records("Contact", [{"LastName": "Mallory", "Title": "a' OR Name != '"}])

    found = names(org, r"Title = 'a\' OR Name != \''")

    assert found == ["Mallory"]


def test_unbalanced_quote_is_malformed_not_injected(org: OrgData) -> None:
    error = query_error(org, "SELECT Id FROM Contact WHERE Email = 'a' OR Name != '")
    assert error.error_code == "MALFORMED_QUERY"


def test_escaped_apostrophe_matches_stored_value(org: OrgData) -> None:
    assert names(org, r"LastName = 'o\'brien'") == ["O'Brien"]


# ------------------------------------------------------------------------------------------
# comparisons
# ------------------------------------------------------------------------------------------


def test_text_equality_and_in_ignore_case(org: OrgData) -> None:
    assert names(org, "Email = 'ADA.LOVELACE@example.COM'") == ["Lovelace"]
    assert names(org, "Email IN ('GRACE@NAVY.MIL', 'alan@EXAMPLE.com', 'nobody@x.y')") == [
        "Hopper",
        "Turing",
    ]
    # NOT IN keeps records whose Email is null (O'Brien has none).
    assert names(org, "Email NOT IN ('GRACE@NAVY.MIL')") == ["Lovelace", "O'Brien", "Turing"]


def test_not_equal_keeps_null_values_like_salesforce(org: OrgData) -> None:
    assert names(org, "Title != 'Countess'") == ["Hopper", "O'Brien", "Turing"]
    assert names(org, "Title = null") == ["Hopper", "Turing"]
    assert names(org, "Title != null") == ["Lovelace", "O'Brien"]


def test_like_wildcards_and_escapes(org: OrgData) -> None:
    assert names(org, "Email LIKE '%EXAMPLE.com'") == ["Lovelace", "Turing"]
    assert names(org, "LastName LIKE 'h_pper'") == ["Hopper"]
    assert names(org, r"Title LIKE '50\% off\_sale%'") == ["O'Brien"]
    assert names(org, r"Title LIKE '50\%_off%'") == ["O'Brien"]
    assert names(org, r"Title LIKE '%\\ back'") == ["O'Brien"]
    assert names(org, "Title LIKE '50_ off%'") == ["O'Brien"]
    assert names(org, r"Title LIKE '5\_%'") == []


def test_number_date_datetime_and_boolean_comparisons(org: OrgData) -> None:
    assert names(org, "WalkMe_NPS_Score__c >= 8") == ["Lovelace"]
    assert names(org, "WalkMe_NPS_Score__c < 9.5") == ["Hopper", "Lovelace"]
    assert names(org, "WalkMe_Quiz_Date__c > 2024-01-15") == ["Hopper"]
    assert names(org, "WalkMe_Quiz_Date__c <= 2024-01-15") == ["Lovelace"]
    assert names(org, "WalkMe_Last_Login__c > 2024-01-31T10:00:00Z") == ["Hopper"]
    # 11:00 at +01:00 is 10:00 UTC.
    assert names(org, "WalkMe_Last_Login__c = 2024-01-31T11:00:00+01:00") == ["Lovelace"]
    assert names(org, "WalkMe_TeachMe_Completed__c = true") == ["Lovelace"]
    assert names(org, "WalkMe_TeachMe_Completed__c = FALSE") == ["Hopper", "O'Brien", "Turing"]


def test_relative_date_literals() -> None:
    schemas = {"Contact": SCHEMAS["Contact"]}
    parsed = soql.parse(
        "SELECT Id FROM Contact WHERE WalkMe_Quiz_Date__c >= LAST_N_DAYS:7",
        schemas,
        today=date(2024, 3, 10),
    )
    assert isinstance(parsed.where, soql_syntax.Comparison)
    assert parsed.where.value == "2024-03-03"


def test_and_or_not_and_parentheses(org: OrgData) -> None:
    assert names(org, "FirstName = 'Ada' OR FirstName = 'Alan'") == ["Lovelace", "Turing"]
    assert names(org, "Email LIKE '%example.com' AND NOT Email LIKE 'alan%'") == ["Lovelace"]
    assert names(
        org, "(FirstName = 'Ada' OR FirstName = 'Grace') AND (WalkMe_NPS_Score__c < 8)"
    ) == ["Hopper"]
    assert names(org, "NOT (Title = null)") == ["Lovelace", "O'Brien"]


def test_mixing_and_or_without_parentheses_is_malformed(org: OrgData) -> None:
    error = query_error(
        org, "SELECT Id FROM Contact WHERE Title = 'a' AND Email = 'b' OR Phone = 'c'"
    )
    assert error.error_code == "MALFORMED_QUERY"


def test_ids_compare_in_15_and_18_character_forms(org: OrgData) -> None:
    ada = org.query("SELECT Id FROM Contact WHERE FirstName = 'Ada'").records[0]["Id"]

    assert names(org, f"Id = '{ada[:15]}'") == ["Lovelace"]
    assert names(org, f"Id IN ('{ada.lower()}')") == ["Lovelace"]
    assert query_error(org, "SELECT Id FROM Contact WHERE Id = 'abc'").error_code == (
        "INVALID_QUERY_FILTER_OPERATOR"
    )


def test_keywords_are_case_insensitive(org: OrgData) -> None:
    result = org.query(
        "select lastname from CONTACT where EMAIL like '%navy%' order by LASTNAME desc"
    )
    assert [r["LastName"] for r in result.records] == ["Hopper"]
    assert result.columns == ["LastName"]


# ------------------------------------------------------------------------------------------
# select list, order, paging
# ------------------------------------------------------------------------------------------


def test_records_come_in_rest_shape_with_canonical_field_names(org: OrgData) -> None:
    result = org.query(
        "SELECT id, name, walkme_nps_score__c FROM contact WHERE LastName = 'Hopper'"
    )

    record = result.records[0]
    assert list(record) == ["attributes", "Id", "Name", "WalkMe_NPS_Score__c"]
    assert record["attributes"]["type"] == "Contact"
    assert record["attributes"]["url"].endswith(record["Id"])
    assert (record["Name"], record["WalkMe_NPS_Score__c"]) == ("Grace Hopper", 7.0)
    assert result.total_size == 1


def test_order_by_nulls_and_direction(org: OrgData) -> None:
    assert names(org, "LastName != null", "ORDER BY WalkMe_NPS_Score__c") == [
        "Turing",
        "O'Brien",
        "Hopper",
        "Lovelace",
    ]
    assert names(org, "LastName != null", "ORDER BY WalkMe_NPS_Score__c DESC, LastName") == [
        "Lovelace",
        "Hopper",
        "O'Brien",
        "Turing",
    ]
    assert names(org, "LastName != null", "ORDER BY WalkMe_NPS_Score__c ASC NULLS LAST")[:2] == [
        "Hopper",
        "Lovelace",
    ]
    assert names(org, "LastName != null", "ORDER BY Title DESC NULLS FIRST, LastName")[:2] == [
        "Hopper",
        "Turing",
    ]
    # Text sorts ignore case.
    org.load_records("Contact", [{"LastName": "adams"}])
    assert names(org, "LastName != null")[0] == "adams"


def test_limit_and_offset_pages_concatenate_to_the_full_result(org: OrgData) -> None:
    org.generate("Contact", 300, seed=5)
    full = org.query("SELECT Id FROM Contact ORDER BY Email, Id").records
    pages = [
        org.query(f"SELECT Id FROM Contact ORDER BY Email, Id LIMIT 50 OFFSET {offset}").records
        for offset in range(0, 304, 50)
    ]
    assert [r["Id"] for page in pages for r in page] == [r["Id"] for r in full]
    # Without ORDER BY the order is still stable from one run to the next.
    first = org.query("SELECT Id FROM Contact").records
    assert first == org.query("SELECT Id FROM Contact").records


def test_count_query(org: OrgData) -> None:
    result = org.query("SELECT COUNT() FROM Contact WHERE Email LIKE '%example.com'")
    assert (result.total_size, result.records, result.columns) == (2, [], [])


def test_organization_and_user_rows_come_from_the_identity_and_survive_reset() -> None:
    from sf_emulator.identities import default_identities, system_records

    identity = default_identities()["sandbox"]
    sandbox = OrgData(
        "sandbox",
        identity.org_id,
        SCHEMAS,
        is_sandbox=True,
        system_records=system_records(identity),
    )
    sandbox.reset()
    result = sandbox.query(
        "SELECT IsSandbox, InstanceName, NamespacePrefix, TrialExpirationDate FROM Organization"
    )
    assert result.records[0]["IsSandbox"] is True
    assert result.records[0]["NamespacePrefix"] is None
    user = sandbox.query("SELECT Id, Username, IsActive FROM User").records[0]
    assert (user["Id"], user["Username"], user["IsActive"]) == (
        identity.user.user_id,
        identity.user.username,
        True,
    )
    assert sandbox.user_id == identity.user.user_id


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


def test_unknown_field_is_invalid_field_with_salesforce_message(org: OrgData) -> None:
    error = query_error(org, "SELECT Id, WalkMe_Score FROM Contact")
    assert error.error_code == "INVALID_FIELD"
    assert error.message.startswith(
        "No such column 'WalkMe_Score' on entity 'Contact'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name."
    )
    assert query_error(org, "SELECT Id FROM Contact WHERE Nope = 1").error_code == "INVALID_FIELD"
    assert query_error(org, "SELECT Id FROM Contact ORDER BY Nope").error_code == "INVALID_FIELD"


def test_unknown_object_is_invalid_type(org: OrgData) -> None:
    error = query_error(org, "SELECT Id FROM Opportunity")
    assert (error.error_code, error.message) == (
        "INVALID_TYPE",
        "sObject type 'Opportunity' is not supported.",
    )


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM Contact",
        "SELECT Id Contact",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact WHERE Email = ",
        "SELECT Id FROM Contact WHERE Email IN ('a',)",
        "SELECT Id FROM Contact LIMIT -1",
        "SELECT Id FROM Contact ORDER BY",
        "SELECT Id FROM Contact trailing",
        "SELECT Id, Id FROM Contact",
        "SELECT Id FROM Contact WHERE WalkMe_NPS_Score__c > null",
        "SELECT Id FROM Contact WHERE Email = 'a' #",
    ],
)
def test_syntax_errors_are_malformed_query(org: OrgData, text: str) -> None:
    assert query_error(org, text).error_code == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    "where",
    [
        "WalkMe_NPS_Score__c = '9'",
        "Email = 9",
        "WalkMe_Quiz_Date__c = '2024-01-01'",
        "WalkMe_Last_Login__c > 2024-01-01",
        "WalkMe_TeachMe_Completed__c = 'true'",
        "WalkMe_NPS_Score__c LIKE '9%'",
    ],
)
def test_literal_of_the_wrong_type_is_a_filter_error(org: OrgData, where: str) -> None:
    error = query_error(org, f"SELECT Id FROM Contact WHERE {where}")
    assert error.error_code == "INVALID_QUERY_FILTER_OPERATOR"


def test_queries_over_100000_characters_are_refused(org: OrgData) -> None:
    padding = " " * (soql.MAX_SOQL_LENGTH - len("SELECT Id FROM Contact") + 1)
    error = query_error(org, "SELECT Id FROM Contact" + padding)
    assert error.error_code == "MALFORMED_QUERY"
    assert "too long" in error.message
    assert org.query("SELECT Id FROM Contact" + padding[:-1]).total_size == 4


# ------------------------------------------------------------------------------------------
# hash indexes
# ------------------------------------------------------------------------------------------


def test_equality_lookups_build_an_index_that_follows_writes(org: OrgData) -> None:
    table = org.table("Contact")
    assert "Email" not in table.indexes

    assert names(org, "Email = 'grace@navy.mil' AND WalkMe_NPS_Score__c > 1") == ["Hopper"]
    assert "Email" in table.indexes

    grace = org.query("SELECT Id FROM Contact WHERE Email = 'grace@navy.mil'").records[0]["Id"]
    org.update("Contact", grace, {"Email": "Grace@Yale.edu"})
    assert names(org, "Email = 'grace@navy.mil'") == []
    assert names(org, "Email IN ('grace@yale.edu')") == ["Hopper"]

    org.delete("Contact", grace)
    assert names(org, "Email = 'grace@yale.edu'") == []
    deleted = org.query(
        "SELECT Id FROM Contact WHERE Email = 'grace@yale.edu'", include_deleted=True
    )
    assert [r["Id"] for r in deleted.records] == [grace]

    created = org.create("Contact", {"LastName": "Hopper2", "Email": "grace@navy.mil"})
    assert names(org, "Email = 'GRACE@navy.mil'") == ["Hopper2"]
    assert created.success


def test_index_on_a_calculated_field_follows_its_inputs(org: OrgData) -> None:
    assert names(org, "Name = 'ada lovelace'") == ["Lovelace"]
    ada = org.query("SELECT Id FROM Contact WHERE Name = 'Ada Lovelace'").records[0]["Id"]
    org.update("Contact", ada, {"FirstName": "Augusta"})
    assert names(org, "Name IN ('Ada Lovelace')") == []
    assert names(org, "Name = 'Augusta Lovelace'") == ["Lovelace"]


def test_or_of_indexable_conditions_and_null_keys(org: OrgData) -> None:
    assert names(org, "Email = 'grace@navy.mil' OR LastName = 'Turing'") == ["Hopper", "Turing"]
    assert names(org, "Title IN (null, 'Countess')") == ["Hopper", "Lovelace", "Turing"]


def test_key_lookups_against_many_records_use_the_index() -> None:
    org = OrgData("big", "00D000000000003AAA", SCHEMAS)
    org.generate("Contact", 20_000, seed=11, duplicate_email_fraction=0.0)
    emails = [r["Email"] for r in org.records("Contact")]
    table = org.table("Contact")

    keys = ", ".join(f"'{e.upper()}'" for e in emails[:300])
    result = org.query(
        f"SELECT Id, Email FROM Contact WHERE Email IN ({keys}) AND LastName != null"
    )

    assert result.total_size == 300
    assert {r["Email"] for r in result.records} == set(emails[:300])
    # The source answered from the index: a candidate list of 300, not 20,000.
    parsed = soql.parse(
        f"SELECT Id FROM Contact WHERE Email IN ({keys})", {"Contact": table.schema}
    )
    candidates = soql_eval._candidates(parsed.where, table, False)
    assert candidates is not None and len(candidates) == 300
