"""Write the synthetic exports of this folder and ``expected.json``: ``python generate.py``.

Invented people only. Each file has the header row its system writes (the preset's, so the
research behind it is in one place: ``importer/suggest/presets/``) and that system's quirks:
BOM, CRLF, Windows code page, text apostrophes, duplicate headers, a trailing comma, short rows,
cells on several lines, preamble lines, countries as names or codes. ``expected.json`` says, per
file, the preset that must be recognised (null: none), which columns must feed which field,
which rows are really wrong, and what each customer must hold once imported.

The files are committed; the tests read them and never run this script.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from importer.suggest import presets  # noqa: E402

PEOPLE: list[dict[str, Any]] = [
    {
        "first": "Ana María",
        "last": "Ortega",
        "org": "Ortega Design LLC",
        "job": "Founder",
        "email": "ana.ortega@example.com",
        "email2": "ana.m.ortega@mail.example",
        "phone": "+1 415 555 0134",
        "mobile": "+1 415 555 0199",
        "fax": "+1 415 555 0135",
        "home": "+1 415 555 0177",
        "web": "https://ortega.example",
        "notes": "Prefers email.",
        "street": "1200 Market St",
        "street2": "Suite 400",
        "city": "San Francisco",
        "state": "CA",
        "state_name": "California",
        "zip": "94103",
        "country": "US",
        "country_name": "United States",
    },
    {
        "first": "Jürgen",
        "last": "Weiß",
        "org": "Weiß & Söhne GmbH",
        "job": "Einkaufsleiter",
        "email": "juergen.weiss@example.de",
        "email2": "j.weiss@privat.example",
        "phone": "+49 30 1234567",
        "mobile": "+49 151 2345678",
        "fax": "+49 30 1234568",
        "home": "+49 30 7654321",
        "web": "https://weiss-soehne.example",
        "notes": "Rechnung per Post.",
        "street": "Hauptstraße 5",
        "street2": "",
        "city": "Berlin",
        "state": "BE",
        "state_name": "Berlin",
        "zip": "10115",
        "country": "DE",
        "country_name": "Germany",
    },
    {
        "first": "Siobhán",
        "last": "O'Connor",
        "org": "Green Isle Tours",
        "job": "Operations Manager",
        "email": "siobhan@example.ie",
        "email2": "",
        "phone": "+353 1 555 0101",
        "mobile": "",
        "fax": "",
        "home": "",
        "web": "",
        "notes": "",
        "street": "12 Harbour Road",
        "street2": "",
        "city": "Dún Laoghaire",
        "state": "Dublin",
        "state_name": "Dublin",
        "zip": "A96 K7P2",
        "country": "IE",
        "country_name": "Ireland",
    },
    {
        "first": "Chloé",
        "last": "Martin",
        "org": "",
        "job": "",
        "email": "chloe.martin@example.fr",
        "email2": "",
        "phone": "",
        "mobile": "+33 6 12 34 56 78",
        "fax": "",
        "home": "",
        "web": "",
        "notes": "Client depuis 2019.\nAppeler le matin.",
        "street": "8 rue des Lilas",
        "street2": "",
        "city": "Paris",
        "state": "",
        "state_name": "",
        "zip": "75011",
        "country": "FR",
        "country_name": "France",
    },
    {
        "first": "Kenji",
        "last": "Watanabe",
        "org": "Sora Systems",
        "job": "CTO",
        "email": "kenji@example.jp",
        "email2": "",
        "phone": "+81 3 5555 0100",
        "mobile": "",
        "fax": "",
        "home": "",
        "web": "https://sora.example",
        "notes": "",
        "street": "",
        "street2": "",
        "city": "",
        "state": "",
        "state_name": "",
        "zip": "",
        "country": "",
        "country_name": "",
    },
    {
        "first": "Olu",
        "last": "Adeyemi",
        "org": "Beacon Books",
        "job": "Owner",
        "email": "olu@example.org",
        "email2": "",
        "phone": "+1 617 555 0142",
        "mobile": "",
        "fax": "",
        "home": "",
        "web": "",
        "notes": "",
        "street": "77 Beacon St",
        "street2": "",
        "city": "Boston",
        "state": "MA",
        "state_name": "Massachusetts",
        "zip": "02134",
        "country": "US",
        "country_name": "United States",
    },
    # an address with no country: the customer is kept, the address dropped with a warning
    {
        "first": "Priya",
        "last": "Natarajan",
        "org": "Lotus Labs",
        "job": "Analyst",
        "email": "priya.n@example.in",
        "email2": "",
        "phone": "+91 80 5555 0123",
        "mobile": "",
        "fax": "",
        "home": "",
        "web": "",
        "notes": "",
        "street": "44 MG Road",
        "street2": "",
        "city": "Bengaluru",
        "state": "KA",
        "state_name": "Karnataka",
        "zip": "560001",
        "country": "",
        "country_name": "",
    },
]


def address(
    p: dict[str, Any],
    *,
    lines: list[str] | None = None,
    state: str | None = None,
    zip_code: bool = True,
) -> dict[str, Any] | None:
    """What Help Scout must hold for ``p``'s address (None: none is sent)."""
    if not p["country"]:
        return None
    lines = [p["street"], p["street2"]] if lines is None else lines
    out = {
        "lines": [line for line in lines if line] or None,
        "city": p["city"] or None,
        "state": (p["state"] if state is None else state) or None,
        "postalCode": (p["zip"] if zip_code else "") or None,
        "country": p["country"],
    }
    return out


def customer(
    p: dict[str, Any],
    *,
    emails: list[tuple[str, str]],
    phones: list[tuple[str, str]],
    org: bool = True,
    job: bool = True,
    notes: bool = True,
    web: bool = False,
    addr: dict[str, Any] | str | None = "default",
    first: str | None = None,
    last: str | None = None,
) -> dict[str, Any]:
    """The customer Help Scout must hold: only the fields the export carries."""
    out: dict[str, Any] = {
        "firstName": p["first"] if first is None else first or None,
        "lastName": p["last"] if last is None else last or None,
        "emails": sorted([t, v] for t, v in emails if v),
        "phones": sorted([t, v] for t, v in phones if v),
    }
    if org:
        out["organization"] = p["org"] or None
    if job:
        out["jobTitle"] = p["job"] or None
    if notes:
        out["background"] = p["notes"] or None
    if web:
        out["websites"] = [p["web"]] if p["web"] else []
    out["address"] = address(p) if addr == "default" else addr
    return out


# --- one writer per system: (rows as header -> cell, expected customers) -------------------------
def shopify(people: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    rows, out = [], []
    for n, p in enumerate(people):
        apos = "'" if p["zip"][:1].isdigit() else ""
        rows.append(
            {
                "Customer ID": f"'{8779761975500 + n}",
                "First Name": p["first"],
                "Last Name": p["last"],
                "Email": p["email"],
                "Accepts Email Marketing": "yes" if n % 2 else "no",
                "Default Address Company": p["org"],
                "Default Address Address1": p["street"],
                "Default Address Address2": p["street2"],
                "Default Address City": p["city"],
                "Default Address Province Code": p["state"],
                "Default Address Country Code": p["country"],
                "Default Address Zip": apos + p["zip"] if p["zip"] else "",
                "Default Address Phone": "'" + p["phone"] if p["phone"] else "",
                "Phone": "'" + p["mobile"] if p["mobile"] else "",
                "Accepts SMS Marketing": "no",
                "Total Spent": f"{120 + n * 7}.50",
                "Total Orders": str(n + 1),
                "Note": p["notes"],
                "Tax Exempt": "no",
                "Tags": "vip, newsletter" if n % 3 == 0 else "",
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("mobile", p["mobile"]), ("other", p["phone"])],
                job=False,
            )
        )
    return rows, out


def shopify_legacy(people):
    rows, out = [], []
    for p in people:
        rows.append(
            {
                "First Name": p["first"],
                "Last Name": p["last"],
                "Email": p["email"],
                "Accepts Email Marketing": "no",
                "Company": p["org"],
                "Address1": p["street"],
                "Address2": p["street2"],
                "City": p["city"],
                "Province": p["state_name"],
                "Province Code": p["state"],
                "Country": p["country_name"],
                "Country Code": p["country"],
                "Zip": ("'" + p["zip"]) if p["zip"][:1].isdigit() else p["zip"],
                "Phone": p["mobile"],
                "Accepts SMS Marketing": "no",
                "Total Spent": "10.00",
                "Total Orders": "1",
                "Tags": "",
                "Note": p["notes"],
                "Tax Exempt": "no",
            }
        )
        out.append(
            customer(p, emails=[("work", p["email"])], phones=[("mobile", p["mobile"])], job=False)
        )
    return rows, out


def hubspot(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Record ID": str(51000 + n),
                "First Name": p["first"],
                "Last Name": p["last"],
                "Email": p["email"],
                "Phone Number": p["phone"],
                "Contact owner": "Dana Reyes",
                "Lead Status": "Open",
                "Marketing contact status": "Marketing contact",
                "Create Date": f"2024-0{n % 9 + 1}-1{n % 9} 09:3{n % 9}",
                "Last Activity Date": "",
                "Company Name": p["org"],
                "Job Title": p["job"],
                "Mobile Phone Number": p["mobile"],
                "Fax Number": p["fax"],
                "Street Address": p["street"],
                "City": p["city"],
                "State/Region": p["state_name"],
                "Postal Code": p["zip"],
                "Country/Region": p["country_name"],
                "Website URL": p["web"],
                "Lifecycle Stage": "Customer",
                "Phone Number (2)": p["home"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                notes=False,
                web=True,
                phones=[
                    ("work", p["phone"]),
                    ("mobile", p["mobile"]),
                    ("fax", p["fax"]),
                    ("other", p["home"]),
                ],
                addr=address(p, lines=[p["street"]], state=p["state_name"]),
            )
        )
    return rows, out


def salesforce(people):
    rows, out = [], []
    for n, p in enumerate(people):
        street = "\n".join(s for s in (p["street"], p["street2"]) if s)
        rows.append(
            {
                "Contact ID": f"003Dn00000{n:05d}AAA",
                "Salutation": "Ms." if n % 2 == 0 else "Mr.",
                "First Name": p["first"],
                "Last Name": p["last"],
                "Title": p["job"],
                "Account Name": p["org"],
                "Mailing Street": street,
                "Mailing City": p["city"],
                "Mailing State/Province": p["state"],
                "Mailing Zip/Postal Code": p["zip"],
                "Mailing Country": p["country_name"],
                "Phone": p["phone"],
                "Fax": p["fax"],
                "Mobile": p["mobile"],
                "Email": p["email"],
                "Contact Owner": "Dana Reyes",
                "Lead Source": "Web",
                "Created Date": f"{n + 1}/1{n}/2023",
                "Home Phone": p["home"],
                "Description": p["notes"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[
                    ("work", p["phone"]),
                    ("mobile", p["mobile"]),
                    ("fax", p["fax"]),
                    ("home", p["home"]),
                ],
            )
        )
    return rows, out


def salesforce_api(people):
    rows, out = [], []
    for n, p in enumerate(people):
        street = "\n".join(s for s in (p["street"], p["street2"]) if s)
        rows.append(
            {
                "Id": f"003Dn00000{n:05d}AAA",
                "IsDeleted": "false",
                "MasterRecordId": "",
                "AccountId": f"001Dn00000{n:05d}AAA",
                "LastName": p["last"],
                "FirstName": p["first"],
                "Salutation": "",
                "Name": f"{p['first']} {p['last']}",
                "OtherStreet": "",
                "OtherCity": "",
                "OtherState": "",
                "OtherPostalCode": "",
                "OtherCountry": "",
                "MailingStreet": street,
                "MailingCity": p["city"],
                "MailingState": p["state"],
                "MailingPostalCode": p["zip"],
                "MailingCountry": p["country"],
                "Phone": p["phone"],
                "Fax": p["fax"],
                "MobilePhone": p["mobile"],
                "HomePhone": p["home"],
                "OtherPhone": "",
                "AssistantPhone": "+1 415 555 0000" if n == 0 else "",
                "ReportsToId": "",
                "Email": p["email"],
                "Title": p["job"],
                "Department": "Sales",
                "AssistantName": "",
                "LeadSource": "Web",
                "Birthdate": "",
                "Description": p["notes"],
                "OwnerId": "005Dn000001AAA",
                "CreatedDate": f"2023-0{n + 1}-02T10:00:00.000Z",
                "CreatedById": "005Dn000001AAA",
                "LastModifiedDate": "2024-01-02T10:00:00.000Z",
                "LastModifiedById": "005Dn000001AAA",
                "SystemModstamp": "2024-01-02T10:00:00.000Z",
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                org=False,
                phones=[
                    ("work", p["phone"]),
                    ("mobile", p["mobile"]),
                    ("fax", p["fax"]),
                    ("home", p["home"]),
                ],
            )
        )
    return rows, out


def zendesk(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "name": f"{p['first']} {p['last']}",
                "email": p["email"],
                "external_id": f"cust-{n + 1}",
                "details": "",
                "notes": p["notes"],
                "phone": p["phone"],
                "role": "end-user",
                "organization": p["org"],
                "tags": "vip" if n % 2 else "",
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("work", p["phone"])],
                job=False,
                addr=None,
                **split(p),
            )
        )
    return rows, out


def split(p: dict[str, Any]) -> dict[str, str]:
    """split_name's halves of "first last": the first word, then the rest."""
    first, _, rest = f"{p['first']} {p['last']}".partition(" ")
    return {"first": first, "last": rest}


def freshdesk(people):
    rows, out = [], []
    for n, p in enumerate(people):
        one_cell = "\n".join(s for s in (p["street"], p["city"], p["zip"]) if s)
        rows.append(
            {
                "Full Name": f"{p['first']} {p['last']}",
                "Title": p["job"],
                "Email": p["email"],
                "Work Phone": p["phone"],
                "Mobile Phone": p["mobile"],
                "Twitter ID": f"{p['first'].split()[0].lower()}_tw" if n == 1 else "",
                "Company": p["org"],
                "Address": one_cell,
                "Time Zone": "Eastern Time (US & Canada)",
                "Language": "en",
                "Tags": "",
                "Unique External ID": "",
                "About": p["notes"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                addr=None,
                phones=[("work", p["phone"]), ("mobile", p["mobile"])],
                **split(p),
            )
        )
    return rows, out


def intercom(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Name": f"{p['first']} {p['last']}",
                "Email": p["email"],
                "Phone": p["phone"],
                "User ID": f"u{n + 1:04d}",
                "Signed up": f"2023-05-0{n + 1} 14:00:00 +0000",
                "First Seen": "2023-05-01 14:00:00 +0000",
                "Last seen": "2024-02-01 09:00:00 +0000",
                "Last heard from": "",
                "Last contacted": "",
                "Web sessions": str(3 + n),
                "Company name": p["org"],
                "City": p["city"],
                "Region": p["state_name"],
                "Country": p["country_name"],
                "Tags": "",
                "Unsubscribed from Emails": "false",
            }
        )
        addr = None
        if p["country"]:
            addr = {
                "lines": None,
                "city": p["city"] or None,
                "state": p["state_name"] or None,
                "postalCode": None,
                "country": p["country"],
            }
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("work", p["phone"])],
                job=False,
                notes=False,
                addr=addr,
                **split(p),
            )
        )
    return rows, out


def mailchimp(people):
    rows, out = [], []
    for n, p in enumerate(people):
        parts = [
            p["street"],
            p["street2"],
            p["city"],
            p["state"] or p["city"],
            p["zip"],
            p["country"],
        ]
        cell = "  ".join(x for x in parts if x) if p["country"] else ""
        rows.append(
            {
                "Email Address": p["email"],
                "First Name": p["first"],
                "Last Name": p["last"],
                "Address": cell,
                "Phone Number": p["phone"],
                "MEMBER_RATING": "2",
                "OPTIN_TIME": f"2023-03-0{n + 1} 10:00:00",
                "OPTIN_IP": "",
                "CONFIRM_TIME": f"2023-03-0{n + 1} 10:05:00",
                "CONFIRM_IP": "198.51.100.7",
                "LATITUDE": "",
                "LONGITUDE": "",
                "GMTOFF": "",
                "DSTOFF": "",
                "TIMEZONE": "",
                "CC": p["country"],
                "REGION": "",
                "LAST_CHANGED": "2024-01-05 08:00:00",
                "LEID": str(9000 + n),
                "EUID": f"{n:010x}",
                "NOTES": "",
                "TAGS": "",
            }
        )
        addr = address(p, state=p["state"] or p["city"]) if cell else None
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("work", p["phone"])],
                org=False,
                job=False,
                notes=False,
                addr=addr,
            )
        )
    return rows, out


def stripe(people):
    rows, out = [], []
    for n, p in enumerate(people):
        card = n % 2 == 1  # every other customer has only the card's billing address
        rows.append(
            {
                "id": f"cus_P{n:013d}",
                "Description": p["notes"],
                "Email": p["email"],
                "Name": f"{p['first']} {p['last']}" if n != 2 else "",
                "Created (UTC)": f"2023-0{n + 1}-15 12:00",
                "Card ID": f"card_{n:06d}",
                "Card Name": f"{p['first']} {p['last']}",
                "Card Address Line1": p["street"] if card else "",
                "Card Address Line2": "",
                "Card Address City": p["city"] if card else "",
                "Card Address State": p["state"] if card else "",
                "Card Address Country": p["country"] if card else "",
                "Card Address Zip": p["zip"] if card else "",
                "Plan": "pro",
                "Status": "active",
                "Cancel At Period End": "false",
                "Account Balance": "0",
                "Currency": "usd",
                "Business Vat ID": "",
                "Delinquent": "false",
                "Discount": "",
                "Phone": p["phone"],
                "Address Line1": "" if card else p["street"],
                "Address Line2": "" if card else p["street2"],
                "Address City": "" if card else p["city"],
                "Address State": "" if card else p["state"],
                "Address Country": "" if card else p["country"],
                "Address Zip": "" if card else p["zip"],
                "plan_tier (metadata)": "gold" if n % 3 == 0 else "",
            }
        )
        addr = address(p, lines=[p["street"]]) if card else address(p)
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("work", p["phone"])],
                org=False,
                job=False,
                addr=addr,
                **split(p),
            )
        )
    return rows, out


def woocommerce(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Name": f"{p['first']} {p['last']}",
                "Username": p["email"].split("@")[0],
                "Last Active": f"2024-02-0{n + 1} 10:00:00",
                "Sign Up": f"2022-11-0{n + 1}",
                "Email": p["email"],
                "Orders": str(n),
                "Total Spend": f"{n * 30}.00",
                "AOV": "30.00",
                "Country / Region": p["country"],
                "City": p["city"],
                "Region": p["state"],
                "Postal Code": p["zip"],
            }
        )
        addr = None
        if p["country"]:
            addr = {
                "lines": None,
                "city": p["city"] or None,
                "state": p["state"] or None,
                "postalCode": p["zip"] or None,
                "country": p["country"],
            }
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[],
                org=False,
                job=False,
                notes=False,
                addr=addr,
                **split(p),
            )
        )
    return rows, out


def zoho_crm(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Record Id": f"zcrm_4876{n:06d}",
                "Contact Owner": "Dana Reyes",
                "Lead Source": "Web",
                "First Name": p["first"],
                "Last Name": p["last"],
                "Account Name": p["org"],
                "Email": p["email"],
                "Title": p["job"],
                "Department": "",
                "Phone": p["phone"],
                "Home Phone": p["home"],
                "Other Phone": "",
                "Fax": p["fax"],
                "Mobile": p["mobile"],
                "Date of Birth": "",
                "Assistant": "",
                "Asst Phone": "",
                "Reports To": "",
                "Email Opt Out": "false",
                "Created By": "Dana Reyes",
                "Modified By": "Dana Reyes",
                "Created Time": "2023-06-01 10:00:00",
                "Modified Time": "2024-01-01 10:00:00",
                "Full Name": f"{p['first']} {p['last']}",
                "Mailing Street": p["street"],
                "Other Street": "",
                "Mailing City": p["city"],
                "Other City": "",
                "Mailing State": p["state_name"],
                "Other State": "",
                "Mailing Zip": p["zip"],
                "Other Zip": "",
                "Mailing Country": p["country_name"],
                "Other Country": "",
                "Description": p["notes"],
                "Salutation": "",
                "Secondary Email": p["email2"],
                "Last Activity Time": "",
                "Tag": "",
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"]), ("other", p["email2"])],
                phones=[
                    ("work", p["phone"]),
                    ("mobile", p["mobile"]),
                    ("home", p["home"]),
                    ("fax", p["fax"]),
                ],
                addr=address(p, lines=[p["street"]], state=p["state_name"]),
            )
        )
    return rows, out


def zoho_books(people):
    rows, out = [], []
    for n, p in enumerate(people):
        company_only = n == 4  # a company contact: no person's name, its display name stands in
        rows.append(
            {
                "Created Time": "2023-04-01 09:00:00",
                "Last Modified Time": "2024-01-10 09:00:00",
                "Display Name": p["org"] or f"{p['first']} {p['last']}",
                "Company Name": p["org"],
                "Salutation": "",
                "First Name": "" if company_only else p["first"],
                "Last Name": "" if company_only else p["last"],
                "Phone": p["phone"],
                "Currency Code": "USD",
                "Notes": p["notes"],
                "Website": p["web"],
                "Status": "Active",
                "Payment Terms": "Net 30",
                "Contact Type": "customer",
                "Billing Attention": p["first"],
                "Billing Address": p["street"],
                "Billing Street2": p["street2"],
                "Billing City": p["city"],
                "Billing State": p["state_name"],
                # Zoho's own country list writes "U.S.A"
                "Billing Country": "U.S.A" if p["country"] == "US" else p["country_name"],
                "Billing Code": p["zip"],
                "Billing Phone": "",
                "Billing Fax": p["fax"],
                "Shipping Attention": "",
                "Shipping Address": "",
                "Shipping Street2": "",
                "Shipping City": "",
                "Shipping State": "",
                "Shipping Country": "",
                "Shipping Code": "",
                "Shipping Phone": "",
                "Shipping Fax": "",
                "Skype Identity": "",
                "Facebook": "",
                "Twitter": "",
                "Department": "",
                "Designation": p["job"],
                "EmailID": p["email"],
                "MobilePhone": p["mobile"],
                "Contact ID": str(460000000 + n),
            }
        )
        names = {"first": p["org"], "last": ""} if company_only else {}
        c = customer(
            p,
            emails=[("work", p["email"])],
            web=True,
            phones=[("work", p["phone"]), ("mobile", p["mobile"]), ("fax", p["fax"])],
            addr=address(p, state=p["state_name"]),
            **names,
        )  # type: ignore[arg-type]
        out.append(c)
    return rows, out


def pipedrive(people):
    rows, out = [], []
    for n, p in enumerate(people):
        number, _, street = (
            p["street"].partition(" ") if p["street"][:1].isdigit() else ("", "", p["street"])
        )
        rows.append(
            {
                "Person - ID": str(100 + n),
                "Person - Name": f"{p['first']} {p['last']}",
                "Person - Label": "Customer",
                "Person - Organization": p["org"],
                "Person - Email - Work": ", ".join(e for e in (p["email"],) if e),
                "Person - Email - Home": p["email2"],
                "Person - Email - Other": "",
                "Person - Phone - Work": p["phone"],
                "Person - Phone - Home": p["home"],
                "Person - Phone - Mobile": p["mobile"],
                "Person - Phone - Other": "",
                "Person - Owner": "Dana Reyes",
                "Person - First name": p["first"],
                "Person - Last name": p["last"],
                "Person - Job title": p["job"],
                "Person - Person created": "2023-07-01 10:00:00",
                "Person - Update time": "2024-01-01 10:00:00",
                "Person - Postal address": ", ".join(
                    x for x in (p["street"], p["city"], p["country_name"]) if x
                ),
                "Person - Postal address - House number": number,
                "Person - Postal address - Street/road name": street,
                "Person - Postal address - Apartment/suite no": p["street2"],
                "Person - Postal address - City/town/village/locality": p["city"],
                "Person - Postal address - State/county": p["state_name"],
                "Person - Postal address - ZIP/Postal code": p["zip"],
                "Person - Postal address - Country": p["country_name"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"]), ("home", p["email2"])],
                notes=False,
                phones=[("work", p["phone"]), ("home", p["home"]), ("mobile", p["mobile"])],
                addr=address(
                    p,
                    lines=[" ".join(x for x in (number, street) if x), p["street2"]],
                    state=p["state_name"],
                ),
            )
        )
    return rows, out


def google(people):
    rows, out = [], []
    for n, p in enumerate(people):
        emails = p["email"] + (" ::: " + p["email2"] if p["email2"] and n == 1 else "")
        formatted = "\n".join(
            x for x in (p["street"], f"{p['city']} {p['zip']}".strip(), p["country_name"]) if x
        )
        rows.append(
            {
                "First Name": p["first"],
                "Middle Name": "",
                "Last Name": p["last"],
                "Phonetic First Name": "",
                "Phonetic Middle Name": "",
                "Phonetic Last Name": "",
                "Name Prefix": "",
                "Name Suffix": "",
                "Nickname": "",
                "File As": "",
                "Organization Name": p["org"],
                "Organization Title": p["job"],
                "Organization Department": "",
                "Birthday": "",
                "Notes": p["notes"],
                "Photo": "",
                "Labels": "* myContacts",
                "E-mail 1 - Label": "* Work" if n % 2 == 0 else "* Home",
                "E-mail 1 - Value": emails,
                "E-mail 2 - Label": "Home" if p["email2"] and n != 1 else "",
                "E-mail 2 - Value": p["email2"] if n != 1 else "",
                "Phone 1 - Label": "Mobile" if p["mobile"] else "Work",
                "Phone 1 - Value": p["mobile"] or p["phone"],
                "Phone 2 - Label": "Work" if p["mobile"] and p["phone"] else "",
                "Phone 2 - Value": p["phone"] if p["mobile"] else "",
                "Address 1 - Label": "Work" if p["street"] else "",
                "Address 1 - Formatted": formatted if p["street"] else "",
                "Address 1 - Street": p["street"],
                "Address 1 - City": p["city"],
                "Address 1 - PO Box": "",
                "Address 1 - Region": p["state"],
                "Address 1 - Postal Code": p["zip"],
                "Address 1 - Country": p["country_name"],
                "Address 1 - Extended Address": p["street2"],
                "Website 1 - Label": "Work" if p["web"] else "",
                "Website 1 - Value": p["web"],
            }
        )
        first_type = "work" if n % 2 == 0 else "home"
        mails = [(first_type, e) for e in emails.split(" ::: ")]
        if p["email2"] and n != 1:
            mails.append(("home", p["email2"]))
        phones = (
            [("mobile", p["mobile"]), ("work", p["phone"])]
            if p["mobile"]
            else [("work", p["phone"])]
        )
        out.append(customer(p, emails=mails, phones=phones, web=True))
    return rows, out


def google_legacy(people):
    rows, out = [], []
    for _n, p in enumerate(people):
        row = {h: "" for h in presets()["google-contacts-legacy"].header}
        row.update(
            {
                "Name": f"{p['first']} {p['last']}",
                "Given Name": p["first"],
                "Family Name": p["last"],
                "Notes": p["notes"],
                "Group Membership": "* My Contacts",
                "E-mail 1 - Type": "* Work",
                "E-mail 1 - Value": p["email"],
                "E-mail 2 - Type": "Home" if p["email2"] else "",
                "E-mail 2 - Value": p["email2"],
                "Phone 1 - Type": "Work" if p["phone"] else "",
                "Phone 1 - Value": p["phone"],
                "Phone 2 - Type": "Mobile" if p["mobile"] else "",
                "Phone 2 - Value": p["mobile"],
                "Address 1 - Type": "Work" if p["street"] else "",
                "Address 1 - Street": p["street"],
                "Address 1 - City": p["city"],
                "Address 1 - Region": p["state"],
                "Address 1 - Postal Code": p["zip"],
                "Address 1 - Country": p["country_name"],
                "Address 1 - Extended Address": p["street2"],
                "Organization 1 - Type": "",
                "Organization 1 - Name": p["org"],
                "Organization 1 - Title": p["job"],
                "Website 1 - Type": "Home Page" if p["web"] else "",
                "Website 1 - Value": p["web"],
            }
        )
        rows.append(row)
        out.append(
            customer(
                p,
                emails=[("work", p["email"]), ("home", p["email2"])],
                web=True,
                phones=[("work", p["phone"]), ("mobile", p["mobile"])],
            )
        )
    return rows, out


OUTLOOK_PHONES = {
    "Business Phone": ("work", "phone"),
    "Mobile Phone": ("mobile", "mobile"),
    "Business Fax": ("fax", "fax"),
    "Home Phone": ("home", "home"),
}


def outlook(people, *, name: str):
    rows, out = [], []
    header = presets()[name].header
    for n, p in enumerate(people):
        row = dict.fromkeys(header, "")
        row.update(
            {
                "First Name": p["first"],
                "Last Name": p["last"],
                "Company": p["org"],
                "Job Title": p["job"],
                "E-mail Address": p["email"],
                "E-mail 2 Address": p["email2"],
                "Notes": p["notes"],
                "Web Page": p["web"],
            }
        )
        if "Title" in row:
            row["Title"] = "Mr." if n % 2 else "Ms."
        if "E-mail Type" in row:
            row["E-mail Type"] = "SMTP" if p["email"] else ""
        for column, (_, key) in OUTLOOK_PHONES.items():
            row[column] = p[key]
        country = "Country/Region" if "Business Country/Region" in row else "Country"
        if name == "outlook-com-contacts":
            row["Business Street"] = "\n".join(x for x in (p["street"], p["street2"]) if x)
        else:
            row["Business Street"], row["Business Street 2"] = p["street"], p["street2"]
        row.update(
            {
                "Business City": p["city"],
                "Business State": p["state"],
                "Business Postal Code": p["zip"],
                f"Business {country}": p["country_name"],
            }
        )
        if "Business Address" in row:
            row["Business Address"] = "\n".join(
                x
                for x in (
                    p["street"],
                    p["street2"],
                    f"{p['city']}, {p['state']} {p['zip']}".strip(", "),
                    p["country_name"],
                )
                if x and x.strip()
            )
        rows.append(row)
        out.append(
            customer(
                p,
                emails=[("work", p["email"]), ("other", p["email2"])],
                web=True,
                phones=[(t, p[k]) for t, k in OUTLOOK_PHONES.values()],
            )
        )
    return rows, out


def thunderbird(people):
    rows, out = [], []
    for n, p in enumerate(people):
        row = dict.fromkeys(presets()["thunderbird-contacts"].header, "")
        row.update(
            {
                "First Name": p["first"] if n != 3 else "",
                "Last Name": p["last"] if n != 3 else "",
                "Display Name": f"{p['first']} {p['last']}",
                "Primary Email": p["email"],
                "Secondary Email": p["email2"],
                "Work Phone": p["phone"],
                "Home Phone": p["home"],
                "Fax Number": p["fax"],
                "Mobile Number": p["mobile"],
                "Work Address": p["street"],
                "Work Address 2": p["street2"],
                "Work City": p["city"],
                "Work State": p["state"],
                "Work ZipCode": p["zip"],
                "Work Country": p["country_name"],
                "Job Title": p["job"],
                "Organization": p["org"],
                "Web Page 1": p["web"],
                "Notes": p["notes"],
            }
        )
        rows.append(row)
        names = {"first": f"{p['first']} {p['last']}", "last": ""} if n == 3 else {}
        out.append(
            customer(
                p,
                emails=[("work", p["email"]), ("other", p["email2"])],
                web=True,
                phones=[
                    ("work", p["phone"]),
                    ("home", p["home"]),
                    ("fax", p["fax"]),
                    ("mobile", p["mobile"]),
                ],
                **names,
            )
        )  # type: ignore[arg-type]
    return rows, out


#: Invoice Ninja v5 writes a country's full name (its CountriesSeeder's full_name)
FULL_COUNTRY_NAMES = {
    "US": "United States of America",
    "DE": "Federal Republic of Germany",
    "IE": "Ireland",
    "FR": "French Republic",
    "": "",
}


def invoice_ninja_row(p: dict[str, Any], n: int) -> dict[str, str]:
    """One client of Invoice Ninja v5's export, all its default report keys."""
    company_only = n == 4  # a client without a contact person's name
    first, last = ("", "") if company_only else (p["first"], p["last"])
    return {
        "Name": p["org"],
        "Number": f"{n + 1:04d}",
        "Client User": "Dana Reyes",
        "Client Assigned User": "",
        "Balance": f"{100 * n}",
        "Paid to Date": "1250",
        "Client Currency": "USD",
        "Website": p["web"],
        "Private Notes": p["notes"],
        "Industry": "",
        "Client Size": "",
        "Client Phone": p["phone"],
        "Street": p["street"],
        "Apt/Suite": p["street2"],
        "City": p["city"],
        "State/Province": p["state_name"],
        "Postal Code": p["zip"],
        "Country": FULL_COUNTRY_NAMES[p["country"]],
        "Shipping Street": "",
        "Shipping Apt/Suite": "",
        "Shipping City": "",
        "Shipping State/Province": "",
        "Shipping Postal Code": "",
        "Shipping Country": "",
        "Client Payment Terms": "",
        "VAT Number": "",
        "ID Number": "",
        # printed on invoices: joined after the private notes
        "Public Notes": "Net 30." if n == 0 else "",
        "Contact Phone": p["mobile"],
        "First Name": first,
        "Last Name": last,
        "Email": p["email"],
    }


def invoice_ninja(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(invoice_ninja_row(p, n))
        names = {"first": p["org"], "last": ""} if n == 4 else {}
        c = customer(
            p,
            emails=[("work", p["email"])],
            job=False,
            web=True,
            phones=[("work", p["phone"]), ("other", p["mobile"])],
            addr=address(p, state=p["state_name"]),
            **names,
        )  # type: ignore[arg-type]
        if n == 0:
            c["background"] = f"{p['notes']}\nNet 30."
        out.append(c)
    return rows, out


#: Invoice Ninja v4 writes a country's short name (its countries table's name)
SHORT_COUNTRY_NAMES = {"US": "United States", "DE": "Germany", "IE": "Ireland", "FR": "France",
                       "": ""}  # fmt: skip


def invoice_ninja_v4(people):
    """Invoice Ninja v4's clients sheet: PHPExcel's CSV, every cell quoted, CRLF, after three
    padded lines (title, empty, CLIENTS); the client's phone and its contact's both "Phone"."""
    rows, out = [], []
    for n, p in enumerate(people):
        v5 = invoice_ninja_row(p, n)
        rows.append(
            {
                "Name": p["org"],
                "Balance": f"${100 * n:,.2f}",
                "Paid to Date": "$1,250.00",
                "Billing Street": p["street"],
                "Billing Apt/Suite": p["street2"],
                "Billing City": p["city"],
                "Billing State/Province": p["state_name"],
                "Billing Postal Code": p["zip"],
                "Billing Country": SHORT_COUNTRY_NAMES[p["country"]],
                "Shipping Street": "",
                "Shipping Apt/Suite": "",
                "Shipping City": "",
                "Shipping State/Province": "",
                "Shipping Postal Code": "",
                "Shipping Country": "",
                "ID Number": "",
                "VAT Number": "",
                "Website": p["web"],
                "Phone": p["phone"],
                "Currency": "USD",
                "Public Notes": v5["Public Notes"],
                "Private Notes": p["notes"],
                "First Name": v5["First Name"],
                "Last Name": v5["Last Name"],
                "Email": p["email"],
                "Phone (2)": p["mobile"],
            }
        )
    _, out = invoice_ninja(people)  # the same customers as v5's export holds
    return rows, out


def v4_preamble(width: int) -> list[str]:
    padding = ',""' * (width - 1)
    return [f'"Invoice Ninja v4.5.50 - 05/02/2024 10:00 am"{padding}', f'""{padding}',
            f'"CLIENTS"{padding}']  # fmt: skip


def wave(people):
    rows, out = [], []
    for n, p in enumerate(people):
        company_only = n == 4
        name = p["org"] or f"{p['first']} {p['last']}"
        rows.append(
            {
                "customer_name": name,
                "email": p["email"],
                "contact_first_name": "" if company_only else p["first"],
                "contact_last_name": "" if company_only else p["last"],
                "customer_currency": "USD",
                "account_number": f"C-{n + 1:03d}",
                "phone": p["phone"],
                "fax": p["fax"],
                "mobile": p["mobile"],
                "toll_free": "",
                "website": p["web"],
                "country": p["country_name"],
                "province/state": p["state_name"],
                "address_line_1": p["street"],
                "address_line_2": p["street2"],
                "city": p["city"],
                "postal_code/zip_code": p["zip"],
                "shipping_address": "False",
                "ship-to_contact": "",
                "ship-to_country": "",
                "ship-to_province/state": "",
                "ship-to_address_line_1": "",
                "ship-to_address_line_2": "",
                "ship-to_city": "",
                "ship-to_postal_code/zip_code": "",
                "ship-to_phone": "",
                "delivery_instructions": p["notes"],
            }
        )
        names = {"first": name, "last": ""} if company_only else {}
        c = customer(
            p,
            emails=[("work", p["email"])],
            job=False,
            web=True,
            phones=[("work", p["phone"]), ("mobile", p["mobile"]), ("fax", p["fax"])],
            addr=address(p, state=p["state_name"]),
            **names,
        )  # type: ignore[arg-type]
        c["organization"] = name  # a person's customer name is their whole name
        out.append(c)
    return rows, out


def freshbooks(people):
    rows, out = [], []
    for n, p in enumerate(people):
        company_only = n == 4
        rows.append(
            {
                "Organization": p["org"],
                "First Name": "" if company_only else p["first"],
                "Last Name": "" if company_only else p["last"],
                "Email": p["email"],
                "Phone": p["phone"],
                "Street": p["street"],
                "City": p["city"],
                "Province/State": p["state_name"],
                "Country": p["country_name"],
                "Postal Code": p["zip"],
                "Notes": p["notes"],
            }
        )
        names = {"first": p["org"], "last": ""} if company_only else {}
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                job=False,
                phones=[("work", p["phone"])],
                addr=address(p, lines=[p["street"]], state=p["state_name"]),
                **names,
            )  # type: ignore[arg-type]
        )
    return rows, out


def helpscout(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Customer ID": str(300100 + n),
                "First Name": p["first"],
                "Last Name": p["last"],
                "Email": p["email"],
                "Emails": p["email2"],
                "Phone": p["phone"],
                "Company": p["org"],
                "Job Title": p["job"],
                "Website": p["web"],
                "Address": "\n".join(x for x in (p["street"], p["street2"]) if x),
                "City": p["city"],
                "State": p["state"],
                "Postal Code": p["zip"],
                "Country": p["country"],
                "Notes": p["notes"],
                "Created At": f"2022-01-0{n + 1}T10:00:00Z",
                "Updated At": f"2024-01-0{n + 1}T10:00:00Z",
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"]), ("other", p["email2"])],
                web=True,
                phones=[("work", p["phone"])],
            )
        )
    return rows, out


# --- files no preset fits ------------------------------------------------------------------------
def renamed(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Given name": p["first"],
                "Surname": p["last"],
                "Customer Email": p["email"],
                "Contact Phone (Work)": p["phone"],
                "Cell": p["mobile"],
                "Employer": p["org"],
                "Position": p["job"],
                "Billing Street Address": p["street"],
                "Billing Address Line 2": p["street2"],
                "Billing Town": p["city"],
                "Billing Province/State": p["state"],
                "Billing Postcode": p["zip"],
                "Billing Country Name": p["country_name"],
                "Shipping Street Address": p["street"] if n == 0 else "",
                "Shipping Town": p["city"] if n == 0 else "",
                "Homepage": p["web"],
                "Signup Date": f"2{n + 1}/03/2021",
                "Comments": p["notes"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                web=True,
                phones=[("work", p["phone"]), ("mobile", p["mobile"])],
            )
        )
    return rows, out


GERMAN_COUNTRIES = {
    "US": "Vereinigte Staaten",
    "DE": "Deutschland",
    "IE": "Irland",
    "FR": "Frankreich",
    "": "",
}


def german(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Anrede": "Frau" if n % 2 == 0 else "Herr",
                "Vorname": p["first"],
                "Nachname": p["last"],
                "Firma": p["org"],
                "Position": p["job"],
                "E-Mail": p["email"],
                "Telefon geschäftlich": p["phone"],
                "Mobiltelefon": p["mobile"],
                "Straße": p["street"],
                "PLZ": p["zip"],
                "Ort": p["city"],
                "Land": GERMAN_COUNTRIES[p["country"]],
                "Geburtstag": f"1{n}.0{n + 1}.198{n}",
                "Notizen": p["notes"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("work", p["phone"]), ("mobile", p["mobile"])],
                addr=address(p, lines=[p["street"]], state=""),
            )
        )
    return rows, out


FRENCH_COUNTRIES = {"US": "États-Unis", "DE": "Allemagne", "IE": "Irlande", "FR": "France", "": ""}


def french(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Civilité": "Mme" if n % 2 == 0 else "M.",
                "Prénom": p["first"],
                "Nom": p["last"],
                "Société": p["org"],
                "Fonction": p["job"],
                "Courriel": p["email"],
                "Téléphone (bureau)": p["phone"],
                "Tél. mobile": p["mobile"],
                "Adresse": p["street"],
                "Code postal": p["zip"],
                "Ville": p["city"],
                "Pays": FRENCH_COUNTRIES[p["country"]],
                "Date de création": f"{n + 10}/0{n + 1}/2022",
                "Remarques": p["notes"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("work", p["phone"]), ("mobile", p["mobile"])],
                addr=address(p, lines=[p["street"]], state=""),
            )
        )
    return rows, out


SPANISH_COUNTRIES = {
    "US": "Estados Unidos",
    "DE": "Alemania",
    "IE": "Irlanda",
    "FR": "Francia",
    "": "",
}


def spanish(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "Nombre": p["first"],
                "Apellidos": p["last"],
                "Empresa": p["org"],
                "Cargo": p["job"],
                "Correo electrónico": p["email"],
                "Teléfono": p["phone"],
                "Móvil": p["mobile"],
                "Dirección": p["street"],
                "Código postal": p["zip"],
                "Ciudad": p["city"],
                "Provincia": p["state_name"],
                "País": SPANISH_COUNTRIES[p["country"]],
                "Fecha de alta": f"2022-0{n + 1}-1{n}",
                "Observaciones": p["notes"],
            }
        )
        out.append(
            customer(
                p,
                emails=[("work", p["email"])],
                phones=[("work", p["phone"]), ("mobile", p["mobile"])],
                addr=address(p, lines=[p["street"]], state=p["state_name"]),
            )
        )
    return rows, out


def nothing(people):
    rows, out = [], []
    for n, p in enumerate(people):
        rows.append(
            {
                "col1": f"{p['first']} {p['last']}",
                "col2": p["email"],
                "col3": p["phone"],
                "col4": p["city"],
                "col5": p["country"] if n % 2 else p["country_name"],
                "col6": f"0{n + 1}/2{n}/2023",
                "col7": "gold" if n % 2 else "silver",
                "col8": p["web"],
                "col9": str(10 + n),
            }
        )
        addr = None
        if p["country"]:
            addr = {
                "lines": None,
                "city": None,
                "state": None,
                "postalCode": None,
                "country": p["country"],
            }
        out.append(
            {
                "emails": [["work", p["email"]]],
                "phones": sorted([["work", p["phone"]]]) if p["phone"] else [],
                "websites": [p["web"]] if p["web"] else [],
                "address": addr,
            }
        )
    return rows, out


# --- the files ---------------------------------------------------------------------------------
#: file -> (writer, preset, quirks, columns that must feed a field: column -> field)
FILES: dict[str, dict[str, Any]] = {
    "shopify-customers.csv": {"writer": shopify, "preset": "shopify-customers"},
    "shopify-customers-legacy.csv": {
        "writer": shopify_legacy,
        "preset": "shopify-customers-legacy",
        "newline": "\r\n",
    },
    "hubspot-contacts.csv": {
        "writer": hubspot,
        "preset": "hubspot-contacts",
        "bom": True,
        "rename": {"Phone Number (2)": "Phone Number"},
    },
    "salesforce-contacts.csv": {
        "writer": salesforce,
        "preset": "salesforce-contacts",
        "newline": "\r\n",
    },
    "salesforce-contacts-api.csv": {
        "writer": salesforce_api,
        "preset": "salesforce-contacts-api",
        "quote_all": True,
        "newline": "\r\n",
    },
    "zendesk-users.csv": {"writer": zendesk, "preset": "zendesk-users"},
    "freshdesk-contacts.csv": {"writer": freshdesk, "preset": "freshdesk-contacts"},
    "intercom-users.csv": {"writer": intercom, "preset": "intercom-users"},
    "mailchimp-audience.csv": {"writer": mailchimp, "preset": "mailchimp-audience"},
    "stripe-customers.csv": {"writer": stripe, "preset": "stripe-customers"},
    "woocommerce-customers.csv": {"writer": woocommerce, "preset": "woocommerce-customers"},
    "zoho-crm-contacts.csv": {"writer": zoho_crm, "preset": "zoho-crm-contacts"},
    "zoho-books-contacts.csv": {"writer": zoho_books, "preset": "zoho-books-contacts"},
    "pipedrive-people.csv": {"writer": pipedrive, "preset": "pipedrive-people"},
    "google-contacts.csv": {"writer": google, "preset": "google-contacts", "bom": True},
    "google-contacts-legacy.csv": {"writer": google_legacy, "preset": "google-contacts-legacy"},
    "google-contacts-outlook-csv.csv": {
        "writer": lambda ps: outlook(ps, name="google-contacts-outlook-csv"),
        "preset": "google-contacts-outlook-csv",
    },
    "outlook-contacts.csv": {
        "writer": lambda ps: outlook(ps, name="outlook-contacts"),
        "preset": "outlook-contacts",
        "encoding": "cp1252",
        "newline": "\r\n",
        "short_rows": True,
    },
    "outlook-com-contacts.csv": {
        "writer": lambda ps: outlook(ps, name="outlook-com-contacts"),
        "preset": "outlook-com-contacts",
        "bom": True,
    },
    "thunderbird-contacts.csv": {
        "writer": thunderbird,
        "preset": "thunderbird-contacts",
        "trailing_comma": True,
    },
    "invoice-ninja-clients.csv": {"writer": invoice_ninja, "preset": "invoice-ninja-clients"},
    "invoice-ninja-v4-clients.csv": {
        "writer": invoice_ninja_v4,
        "preset": "invoice-ninja-v4-clients",
        "quote_all": True,
        "newline": "\r\n",
        "rename": {"Phone (2)": "Phone"},
        "preamble": v4_preamble(26),
    },
    "wave-customers.csv": {"writer": wave, "preset": "wave-customers"},
    "freshbooks-clients.csv": {"writer": freshbooks, "preset": "freshbooks-clients"},
    "helpscout-customers.csv": {"writer": helpscout, "preset": "helpscout-customers"},
    "renamed-headers.csv": {"writer": renamed, "preset": None},
    "kunden-de.csv": {
        "writer": german,
        "preset": None,
        "delimiter": ";",
        "encoding": "cp1252",
        "newline": "\r\n",
        "preamble": ["Kundenliste;;;", "Exportiert am 05.02.2024;;;", ""],
    },
    "clients-fr.csv": {"writer": french, "preset": None, "delimiter": ";", "bom": True},
    "clientes-es.csv": {"writer": spanish, "preset": None},
    "no-headers-col1-col9.csv": {"writer": nothing, "preset": None},
}


def write(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    rows, customers = spec["writer"](PEOPLE)
    header = list(rows[0])
    if spec.get("preset"):
        known = presets()[spec["preset"]]
        order = [c for c in known.header if c in header] + [
            c for c in header if c not in known.header
        ]
        header = order
    shown = [spec.get("rename", {}).get(c, c) for c in header]
    buffer = io.StringIO()
    for line in spec.get("preamble", []):
        buffer.write(line + spec.get("newline", "\n"))
    writer = csv.writer(
        buffer,
        delimiter=spec.get("delimiter", ","),
        lineterminator=spec.get("newline", "\n"),
        quoting=csv.QUOTE_ALL if spec.get("quote_all") else csv.QUOTE_MINIMAL,
    )
    tail = [""] if spec.get("trailing_comma") else []
    writer.writerow(shown + tail)
    for row in rows:
        cells = [row.get(c, "") for c in header]
        if spec.get("short_rows"):
            while cells and cells[-1] == "":
                cells.pop()
        writer.writerow(cells + tail)
    data = buffer.getvalue().encode(spec.get("encoding", "utf-8"))
    (HERE / name).write_bytes((b"\xef\xbb\xbf" if spec.get("bom") else b"") + data)
    return {"preset": spec.get("preset"), "customers": customers}


def main() -> None:
    expected = {name: write(name, spec) for name, spec in FILES.items()}
    text = json.dumps(expected, ensure_ascii=False, indent=1, sort_keys=True)
    (HERE / "expected.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
