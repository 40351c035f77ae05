"""Write the demo CRM the local Salesforce starts with: `demo/samples/crm/<org>/<Object>.json`.

Built from the shipped sample exports so the demo shows every outcome: most report users have a
Lead/Contact (some e-mails stored in mixed case), a few have none (unmatched), and one e-mail is on
two Leads (ambiguous). Deterministic: re-running rewrites identical files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "demo" / "samples"
UNMATCHED_EVERY = 12  # every 12th report user has no CRM record
MIXED_CASE_EVERY = 7  # every 7th stored e-mail is capitalised


def report_emails(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def stored_email(email: str, index: int) -> str:
    return email.title() if index % MIXED_CASE_EVERY == 3 else email


def person_fields(email: str) -> dict[str, str]:
    local, _, domain = email.partition("@")
    first, _, last = local.rstrip("0123456789").partition(".")
    company = domain.split(".")[0].replace("-", " ").title()
    return {"FirstName": first.title(), "LastName": (last or "Demo").title(), "Company": company}


def leads(emails: list[str]) -> list[dict[str, str]]:
    records = [
        {**person_fields(email), "Email": stored_email(email, i)}
        for i, email in enumerate(emails)
        if i % UNMATCHED_EVERY != 5
    ]
    # The same person entered twice: the sync must not guess which Lead is theirs.
    records.append({**person_fields(emails[0]), "Email": emails[0].upper()})
    return records


def contacts(emails: list[str]) -> list[dict[str, str]]:
    records = []
    for i, email in enumerate(emails):
        if i % UNMATCHED_EVERY == 5:
            continue
        fields = person_fields(email)
        company = fields.pop("Company")
        records.append({**fields, "Email": stored_email(email, i), "Title": f"{company} user"})
    return records


def main() -> None:
    login_emails = report_emails(
        SAMPLES / "login_review" / "login_review_2026-11-24.csv", "User ID"
    )
    nps_emails = report_emails(SAMPLES / "nps" / "nps_2026-11-24.csv", "Email")
    for org in ("sandbox", "production"):
        folder = SAMPLES / "crm" / org
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Lead.json").write_text(json.dumps(leads(login_emails), indent=1) + "\n")
        (folder / "Contact.json").write_text(json.dumps(contacts(nps_emails), indent=1) + "\n")
        print(f"wrote {folder}")


if __name__ == "__main__":
    main()
