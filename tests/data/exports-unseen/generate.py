"""Write the synthetic exports of this folder and ``manifest.json``: ``python generate.py``.

Invented people only. Each file has the header row of a system ``init`` has no preset for, as
that system's documentation of its export lists it (README.md names each source), with the
custom fields people add to such systems. ``manifest.json`` says, per file, which column must
feed which field (``expected``), which columns must feed no customer field whatever their
header says (``not_customer``: dates, ids, amounts, flags, lists, another person's details),
and the rows planted bad (1-based data rows, with why).

The files are committed; the tests read them and never run this script.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

HERE = Path(__file__).resolve().parent

FIRST = [
    "Ana",
    "Jürgen",
    "Siobhán",
    "Kofi",
    "Mei",
    "Lars",
    "Priya",
    "Tomás",
    "Élodie",
    "Ravi",
    "Ingrid",
    "Mateo",
    "Aiko",
    "Noah",
    "Zofia",
    "Omar",
    "Chloé",
    "Hannah",
    "Luca",
    "Fatima",
    "Henrik",
    "Sofia",
    "Dmitri",
    "Amara",
    "Pieter",
    "Yara",
    "Bruno",
    "Leila",
    "Oskar",
    "Nina",
]
LAST = [
    "Ortega",
    "Weiß",
    "O'Connor",
    "Mensah",
    "Tanaka",
    "Lindqvist",
    "Raman",
    "Costa",
    "Dubois",
    "Patel",
    "Haugen",
    "Rossi",
    "Sato",
    "Becker",
    "Nowak",
    "Haddad",
    "Moreau",
    "Schmidt",
    "Bianchi",
    "Khan",
    "Nielsen",
    "García",
    "Volkov",
    "Okafor",
    "de Vries",
    "Nasser",
    "Almeida",
    "Farah",
    "Berg",
    "Kovač",
]
ORGS = [
    "Ortega Design",
    "Blue Fern Ltd",
    "Harbour Tours",
    "Kettle & Co",
    "Northwind Bikes",
    "Lumen Studio",
    "Atlas Freight",
    "Pine Labs",
    "Quill Books",
    "Maple Dental",
]
JOBS = ["Founder", "Buyer", "Office Manager", "Head of Sales", "Engineer", "Teacher", "Owner"]
PLACES = [  # street, city, state, zip, country code, English name, local name, phone prefix
    ("1200 Market St", "San Francisco", "CA", "94103", "US", "United States", "USA", "+1 415 555"),
    ("Hauptstraße 5", "Berlin", "BE", "10115", "DE", "Germany", "Deutschland", "+49 30 55"),
    ("12 Harbour Road", "Dublin", "D", "D02 X285", "IE", "Ireland", "Irlande", "+353 1 555"),
    ("4 Rue de Rivoli", "Paris", "IDF", "75004", "FR", "France", "France", "+33 1 55"),
    ("Ringstraße 12", "Wien", "W", "1010", "AT", "Austria", "Österreich", "+43 1 555"),
    ("ul. Długa 7", "Gdańsk", "PM", "80-827", "PL", "Poland", "Polska", "+48 58 555"),
    ("221 King St W", "Toronto", "ON", "M5H 1K5", "CA", "Canada", "Canada", "+1 416 555"),
    (
        "10 Baker Street",
        "London",
        "LDN",
        "NW1 6XE",
        "GB",
        "United Kingdom",
        "Royaume-Uni",
        "+44 20 7946",
    ),
    ("Calle Mayor 3", "Madrid", "MD", "28013", "ES", "Spain", "España", "+34 91 555"),
]
REGIONS = [
    "Mostly up north, near Leeds",
    "I split my time between two cities",
    "Southern Europe (Lisbon for now)",
    "Not sure yet - still moving",
    "East coast, but travelling a lot",
    "Near the border with Austria",
]
SURVEY = [
    "Loved the workshop!",
    "More evening sessions please",
    "",
    "Parking was hard",
    "Can we get the slides?",
    "",
    "Great speakers",
]


def possible(prefix: str, country: str, rand: random.Random) -> str:
    """``prefix`` and random digits, as many as libphonenumber needs for a possible number."""
    for length in range(2, 9):
        number = f"{prefix} {rand.randint(10 ** (length - 1), 10**length - 1)}"
        if phonenumbers.is_possible_number(phonenumbers.parse(number, country)):
            return number
    raise ValueError(f"no possible number starts {prefix}")


def mobile(country: str, rand: random.Random) -> str:
    """A mobile number of ``country``: libphonenumber's example with its last two digits drawn."""
    example = phonenumbers.example_number_for_type(country, PhoneNumberType.MOBILE)
    text = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{text[:-2]}{rand.randint(10, 99)}"


def people(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` invented people, the same for the same seed."""
    rand = random.Random(seed)
    out = []
    for i in range(count):
        first, last = FIRST[(i + seed) % len(FIRST)], LAST[(i * 7 + seed) % len(LAST)]
        place = PLACES[(i + seed) % len(PLACES)]
        user = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        user = user.translate(str.maketrans("äöüßáéíóúčñł", "aousaeioucnl"))
        created = f"20{rand.randint(19, 24)}-{rand.randint(1, 12):02d}-{rand.randint(1, 28):02d}"
        out.append(
            {
                "i": i,
                "first": first,
                "last": last,
                "full": f"{first} {last}",
                "email": f"{user}{i}@example.com",
                "email2": f"{user}.home{i}@mail.example",
                "phone": possible(place[7], place[4], rand),
                "mobile": mobile(place[4], rand),
                "org": ORGS[i % len(ORGS)],
                "job": JOBS[i % len(JOBS)],
                "street": place[0],
                "city": place[1],
                "state": place[2],
                "zip": place[3],
                "cc": place[4],
                "country": place[5],
                "country_local": place[6],
                "created": created,
                "time": f"{rand.randint(0, 23):02d}:{rand.randint(0, 59):02d}:00",
                "id": 100000 + i * 37 + seed,
                "amount": f"{rand.randint(0, 2000)}.{rand.randint(0, 99):02d}",
                "count": str(rand.randint(0, 40)),
                "flag": rand.choice(["Yes", "No"]),
                "bit": rand.choice(["0", "1"]),
                "region": REGIONS[i % len(REGIONS)],
                "note": SURVEY[i % len(SURVEY)],
                "rand": rand,
            }
        )
    return out


def us_date(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{m}/{d}/{y}"


def eu_date(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


Cell = Callable[[dict[str, Any]], str]


def plant(rows: list[dict[str, str]], column: str, bad: dict[int, tuple[str, str]]) -> list:
    """Bad values in ``column`` at these 1-based rows: (value, why)."""
    for row, (value, _) in bad.items():
        rows[row - 1][column] = value
    return [{"row": row, "why": why} for row, (_, why) in sorted(bad.items())]


BAD_EMAILS = {
    5: ("jo.nowhere(at)example.com", "the email has no @"),
    17: ("mei tanaka@example.com", "a space inside the email"),
}


def build(
    name: str,
    columns: dict[str, Cell],
    count: int,
    seed: int,
    email: str | None,
    bad: dict[int, tuple[str, str]] | None = None,
    edit: Callable[[list[dict[str, str]]], None] | None = None,
) -> tuple[list, list]:
    rows = [{c: f(p) for c, f in columns.items()} for p in people(count, seed)]
    if edit:
        edit(rows)
    planted = plant(rows, email, BAD_EMAILS if bad is None else bad) if email else []
    return rows, planted


def write(
    name: str,
    rows: list[dict[str, str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
    crlf: bool = False,
    preamble: str = "",
) -> None:
    text = io.StringIO(preamble)
    text.seek(len(preamble))
    writer = csv.DictWriter(
        text, list(rows[0]), delimiter=delimiter, lineterminator="\r\n" if crlf else "\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue()
    if encoding == "cp1252":  # what Excel does with letters its code page lacks
        data = data.translate(str.maketrans("ńłčśćżź", "nlcsczz"))
    data = data.encode(encoding)
    (HERE / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def files() -> dict[str, dict[str, Any]]:
    manifest: dict[str, dict[str, Any]] = {}

    def add(
        name: str,
        rows: list,
        planted: list,
        expected: list,
        not_customer: list,
        misread: list | None = None,
        **options: Any,
    ) -> None:
        write(name, rows, **options)
        manifest[name] = {
            "rows": len(rows),
            "expected": expected,
            "not_customer": not_customer,
            "misread": misread or [],
            "bad_rows": planted,
        }

    # Eventbrite: attendee summary report; the buyer may be someone else.
    cols: dict[str, Cell] = {
        "Order #": lambda p: str(7000000000 + p["id"] * 13),
        "Order Date": lambda p: f"{p['created']} {p['time']}",
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Email": lambda p: p["email"],
        "Quantity": lambda p: "1",
        "Ticket Type": lambda p: p["rand"].choice(["General Admission", "VIP", "Early Bird"]),
        "Attendee #": lambda p: str(9000000000 + p["id"]),
        "Barcode #": lambda p: f"{p['id']}{p['id'] * 7}001",
        "Buyer First Name": lambda p: "Dana",
        "Buyer Last Name": lambda p: "Whitfield",
        "Buyer Email": lambda p: "dana.whitfield@agency.example",
        "Date Attending": lambda p: us_date(p["created"]) + " 9:00 AM",
        "Attendee Status": lambda p: "Attending",
        "Cell Phone": lambda p: p["mobile"],
        "Job Title": lambda p: p["job"],
        "Company": lambda p: p["org"],
        "Home Address 1": lambda p: p["street"],
        "Home City": lambda p: p["city"],
        "Home Zip": lambda p: p["zip"],
        "Home Country": lambda p: p["cc"],
        "Total Paid": lambda p: p["amount"],
        "Eventbrite Fees": lambda p: "2.49",
        "Last Check-In Date": lambda p: us_date(p["created"]),
    }
    rows, planted = build("eventbrite", cols, 60, 1, "Email")
    add(
        "eventbrite-attendees.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email"],
            ["phones", "Cell Phone"],
            ["jobTitle", "Job Title"],
            ["organization", "Company"],
            ["address.lines", "Home Address 1"],
            ["address.city", "Home City"],
            ["address.postalCode", "Home Zip"],
            ["address.country", "Home Country"],
        ],
        [
            "Order #",
            "Order Date",
            "Attendee #",
            "Barcode #",
            "Buyer First Name",
            "Buyer Last Name",
            "Buyer Email",
            "Date Attending",
            "Total Paid",
            "Last Check-In Date",
            "Quantity",
            "Eventbrite Fees",
        ],
    )

    # Squarespace: Profiles > Customers > Export (CSV).
    cols = {
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Email": lambda p: p["email"],
        "Accepts Marketing": lambda p: p["flag"],
        "Billing Address 1": lambda p: p["street"],
        "Billing Address 2": lambda p: "",
        "Billing City": lambda p: p["city"],
        "Billing Zip": lambda p: p["zip"],
        "Billing Province/State": lambda p: p["state"],
        "Billing Country": lambda p: p["cc"],
        "Billing Phone Number": lambda p: p["phone"],
        "Total Spent": lambda p: p["amount"],
        "Order Count": lambda p: p["count"],
        "First Order Date": lambda p: p["created"],
        "Last Order Date": lambda p: p["created"],
        "Tags": lambda p: "VIP, Newsletter",
        "Created On": lambda p: f"{p['created']}T{p['time']}Z",
    }

    def no_names(rows: list[dict[str, str]]) -> None:
        for row in rows[::4]:
            row["First Name"] = row["Last Name"] = ""

    rows, planted = build("squarespace", cols, 48, 2, "Email", edit=no_names)
    add(
        "squarespace-customers.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email"],
            ["phones", "Billing Phone Number"],
            ["address.lines", "Billing Address 1"],
            ["address.city", "Billing City"],
            ["address.postalCode", "Billing Zip"],
            ["address.state", "Billing Province/State"],
            ["address.country", "Billing Country"],
        ],
        [
            "Accepts Marketing",
            "Total Spent",
            "Order Count",
            "First Order Date",
            "Last Order Date",
            "Tags",
            "Created On",
        ],
    )

    # BigCommerce: Customers > Export, "Bulk edit" template.
    cols = {
        "Customer ID": lambda p: str(p["i"] + 1),
        "Email Address": lambda p: p["email"],
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Company": lambda p: p["org"],
        "Phone": lambda p: p["phone"],
        "Notes": lambda p: p["note"],
        "Store Credit": lambda p: p["amount"],
        "Customer Group": lambda p: p["rand"].choice(["Retail", "Wholesale"]),
        "Date Joined": lambda p: eu_date(p["created"]),
        "Receive Review/Abandoned Cart Emails?": lambda p: p["flag"],
        "Tax Exempt Category": lambda p: "",
        "Registration IP Address": lambda p: f"203.0.113.{p['i'] + 1}",
        "Member Number": lambda p: str(4400000 + p["id"]),
        "Address Count": lambda p: p["count"],
        "Last Login": lambda p: eu_date(p["created"]) + " " + p["time"][:5],
    }
    rows, planted = build("bigcommerce", cols, 45, 3, "Email Address")
    add(
        "bigcommerce-customers.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email Address"],
            ["organization", "Company"],
            ["phones", "Phone"],
            ["background", "Notes"],
        ],
        [
            "Customer ID",
            "Store Credit",
            "Customer Group",
            "Date Joined",
            "Receive Review/Abandoned Cart Emails?",
            "Registration IP Address",
            "Member Number",
            "Address Count",
            "Last Login",
        ],
    )

    # Magento 2: System > Data Transfer > Export, entity "Customers Main File".
    cols = {
        "email": lambda p: p["email"],
        "_website": lambda p: "base",
        "_store": lambda p: "default",
        "confirmation": lambda p: "",
        "created_at": lambda p: f"{p['created']} {p['time']}",
        "created_in": lambda p: "Default Store View",
        "disable_auto_group_change": lambda p: "0",
        "dob": lambda p: "",
        "firstname": lambda p: p["first"],
        "gender": lambda p: p["rand"].choice(["0", "1", "2"]),
        "group_id": lambda p: "1",
        "lastname": lambda p: p["last"],
        "middlename": lambda p: "",
        "prefix": lambda p: "",
        "store_id": lambda p: "1",
        "suffix": lambda p: "",
        "taxvat": lambda p: "",
        "updated_at": lambda p: f"{p['created']} {p['time']}",
        "website_id": lambda p: "1",
        "password": lambda p: "",
    }
    rows, planted = build("magento", cols, 40, 4, "email")
    add(
        "magento-customers.csv",
        rows,
        planted,
        [["firstName", "firstname"], ["lastName", "lastname"], ["emails", "email"]],
        [
            "_website",
            "_store",
            "created_at",
            "created_in",
            "disable_auto_group_change",
            "group_id",
            "store_id",
            "updated_at",
            "website_id",
            "gender",
        ],
    )

    # PrestaShop 1.7/8: Customers > Export (semicolons, UTF-8 with a BOM).
    cols = {
        "ID": lambda p: str(p["i"] + 1),
        "Social title": lambda p: p["rand"].choice(["Mr", "Mrs"]),
        "First name": lambda p: p["first"],
        "Last name": lambda p: p["last"],
        "Email": lambda p: p["email"],
        "Group": lambda p: "Customer",
        "Sales": lambda p: p["amount"].replace(".", ",") + " €",
        "Enabled": lambda p: "1",
        "Newsletter": lambda p: p["bit"],
        "Partner offers": lambda p: p["bit"],
        "Registration": lambda p: f"{p['created']} {p['time']}",
        "Last visit": lambda p: f"{p['created']} {p['time']}",
    }
    rows, planted = build("prestashop", cols, 42, 5, "Email")
    add(
        "prestashop-customers.csv",
        rows,
        planted,
        [["firstName", "First name"], ["lastName", "Last name"], ["emails", "Email"]],
        [
            "ID",
            "Group",
            "Sales",
            "Enabled",
            "Newsletter",
            "Partner offers",
            "Registration",
            "Last visit",
        ],
        delimiter=";",
        bom=True,
    )

    # Square: Customers > Directory > Export customers.
    cols = {
        "Reference ID": lambda p: f"SQ-{p['id']}",
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Email Address": lambda p: p["email"],
        "Phone Number": lambda p: p["mobile"],
        "Nickname": lambda p: "",
        "Company Name": lambda p: p["org"],
        "Street Address 1": lambda p: p["street"],
        "Street Address 2": lambda p: "",
        "City": lambda p: p["city"],
        "State": lambda p: p["state"],
        "Postal Code": lambda p: p["zip"],
        "Birthday": lambda p: "",
        "Memo": lambda p: p["note"],
        "Square Customer ID": lambda p: f"C{p['id']}ZX{p['i']:03d}QW",
        "Creation Source": lambda p: p["rand"].choice(["Directory", "Instant Profile"]),
        "First Visit": lambda p: p["created"],
        "Last Visit": lambda p: p["created"],
        "Transaction Count": lambda p: p["count"],
        "Total Spend": lambda p: "$" + p["amount"],
        "Email Subscription Status": lambda p: "subscribed",
        "Instant Profile": lambda p: p["flag"],
        "Store Code": lambda p: "store-042.example.com",
    }
    rows, planted = build("square", cols, 50, 6, "Email Address")
    add(
        "square-customers.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email Address"],
            ["phones", "Phone Number"],
            ["organization", "Company Name"],
            ["address.lines", "Street Address 1"],
            ["address.city", "City"],
            ["address.state", "State"],
            ["address.postalCode", "Postal Code"],
            ["background", "Memo"],
        ],
        [
            "Reference ID",
            "Square Customer ID",
            "First Visit",
            "Last Visit",
            "Transaction Count",
            "Total Spend",
            "Email Subscription Status",
            "Instant Profile",
            "Store Code",
            "Creation Source",
        ],
    )

    # Klaviyo: Lists & segments > Export (profile properties), with custom properties.
    cols = {
        "Email": lambda p: p["email"],
        "Phone Number": lambda p: p["mobile"],
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Organization": lambda p: p["org"],
        "Title": lambda p: p["job"],
        "Address": lambda p: p["street"],
        "Address 2": lambda p: "",
        "City": lambda p: p["city"],
        "State / Region": lambda p: p["state"],
        "Country": lambda p: p["country"],
        "Zip Code": lambda p: p["zip"],
        "Latitude": lambda p: "48.2",
        "Longitude": lambda p: "16.37",
        "Source": lambda p: "Shopify",
        "Email Marketing Consent": lambda p: p["rand"].choice(["SUBSCRIBED", "NEVER_SUBSCRIBED"]),
        "First Active": lambda p: f"{p['created']} {p['time']}",
        "Last Active": lambda p: f"{p['created']} {p['time']}",
        "Last Open": lambda p: f"{p['created']} {p['time']}",
        "Profile Created On": lambda p: f"{p['created']} {p['time']}",
        "Klaviyo ID": lambda p: f"01H{p['id']}K{p['i']:04d}",
        "Newsletter Lists": lambda p: p["rand"].choice(
            ["Newsletter", "Newsletter; VIP", "Sale alerts"]
        ),
        "Email Opt-In": lambda p: p["flag"],
        "SMS number": lambda p: p["phone"],
    }
    rows, planted = build("klaviyo", cols, 55, 7, "Email")
    add(
        "klaviyo-profiles.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email"],
            ["phones", "Phone Number"],
            ["phones", "SMS number"],
            ["organization", "Organization"],
            ["jobTitle", "Title"],
            ["address.lines", "Address"],
            ["address.city", "City"],
            ["address.state", "State / Region"],
            ["address.country", "Country"],
            ["address.postalCode", "Zip Code"],
        ],
        [
            "Latitude",
            "Longitude",
            "Source",
            "Email Marketing Consent",
            "First Active",
            "Last Active",
            "Last Open",
            "Profile Created On",
            "Klaviyo ID",
            "Newsletter Lists",
            "Email Opt-In",
        ],
    )

    # ActiveCampaign: Contacts > Export, with the account's custom fields.
    cols = {
        "Email": lambda p: p["email"],
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Phone": lambda p: p["phone"],
        "Account": lambda p: p["org"],
        "Tags": lambda p: "webinar, trial",
        "Date Created": lambda p: f"{p['created']} {p['time']}",
        "Date Updated": lambda p: f"{p['created']} {p['time']}",
        "IP Address": lambda p: f"198.51.100.{p['i'] + 1}",
        "Lists": lambda p: "Master Contact List",
        "Contact Owner": lambda p: "Rowan Pike",
        "Account Owner Email": lambda p: "rowan.pike@ourcompany.example",
        "Direct Line": lambda p: p["mobile"],
        "Invoice #": lambda p: str(20240000 + p["id"]),
        "Remarks": lambda p: p["note"],
        "Last Order Amount": lambda p: p["amount"],
        "primary_address": lambda p: p["bit"],
        "Second Contact Email": lambda p: p["email2"] if p["i"] % 3 == 0 else "",
        "Second Contact Name": lambda p: "Alex Rivers" if p["i"] % 3 == 0 else "",
    }
    rows, planted = build("activecampaign", cols, 54, 8, "Email")
    add(
        "activecampaign-contacts.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email"],
            ["phones", "Phone"],
            ["phones", "Direct Line"],
            ["background", "Remarks"],
        ],
        [
            "Tags",
            "Date Created",
            "Date Updated",
            "IP Address",
            "Lists",
            "Contact Owner",
            "Account Owner Email",
            "Invoice #",
            "primary_address",
            "Second Contact Email",
            "Second Contact Name",
            "Last Order Amount",
        ],
    )

    # Brevo (Sendinblue): Contacts > Export, opened and saved again in a French Excel: ';' and
    # Windows-1252, dates re-typed two ways.
    cols = {
        "EMAIL": lambda p: p["email"],
        "PRENOM": lambda p: p["first"],
        "NOM": lambda p: p["last"],
        "SMS": lambda p: p["mobile"],
        "WHATSAPP": lambda p: p["mobile"],
        "LANDLINE_NUMBER": lambda p: p["phone"],
        "DOUBLE_OPT-IN": lambda p: p["flag"],
        "EMAIL_BLACKLISTED": lambda p: "No",
        "DATE_INSCRIPTION": lambda p: eu_date(p["created"]) if p["i"] % 2 else p["created"],
        "VILLE": lambda p: p["city"],
        "PAYS": lambda p: p["country_local"],
        "SOCIETE": lambda p: p["org"],
    }
    rows, planted = build("brevo", cols, 45, 9, "EMAIL")
    add(
        "brevo-contacts-excel.csv",
        rows,
        planted,
        [
            ["firstName", "PRENOM"],
            ["lastName", "NOM"],
            ["emails", "EMAIL"],
            ["phones", "SMS"],
            ["phones", "WHATSAPP"],
            ["phones", "LANDLINE_NUMBER"],
            ["organization", "SOCIETE"],
            ["address.city", "VILLE"],
            ["address.country", "PAYS"],
        ],
        ["DOUBLE_OPT-IN", "EMAIL_BLACKLISTED", "DATE_INSCRIPTION"],
        delimiter=";",
        encoding="cp1252",
        crlf=True,
    )

    # Calendly: Scheduled events > Export; the host and the guests are not the invitee.
    cols = {
        "Invitee Name": lambda p: p["full"],
        "Invitee Email": lambda p: p["email"],
        "Invitee First Name": lambda p: p["first"],
        "Invitee Last Name": lambda p: p["last"],
        "Text Reminder Number": lambda p: p["mobile"],
        "Event Type Name": lambda p: "30 Minute Meeting",
        "Start Date & Time": lambda p: f"{p['created']} {p['time'][:5]}",
        "End Date & Time": lambda p: f"{p['created']} {p['time'][:5]}",
        "Invitee Time Zone": lambda p: "Europe/Berlin",
        "Event Created Date & Time": lambda p: f"{p['created']} {p['time'][:5]}",
        "Canceled": lambda p: "false",
        "User Name": lambda p: "Morgan Hale",
        "User Email": lambda p: "morgan.hale@ourcompany.example",
        "Guest Email(s)": lambda p: f"guest{p['i']}@partner.example" if p["i"] % 2 else "",
        "Location": lambda p: "Zoom",
        "Question 1": lambda p: "Which region are you in?",
        "Response 1": lambda p: p["region"],
        "Marked as No-Show": lambda p: "",
    }

    def split_only(rows: list[dict[str, str]]) -> None:
        for row in rows[::5]:
            row["Invitee First Name"] = row["Invitee Last Name"] = ""

    rows, planted = build("calendly", cols, 40, 10, "Invitee Email", edit=split_only)
    add(
        "calendly-events.csv",
        rows,
        planted,
        [
            ["firstName", "Invitee First Name"],
            ["firstName", "Invitee Name"],
            ["lastName", "Invitee Last Name"],
            ["emails", "Invitee Email"],
            ["phones", "Text Reminder Number"],
        ],
        [
            "Start Date & Time",
            "End Date & Time",
            "Event Created Date & Time",
            "User Name",
            "User Email",
            "Guest Email(s)",
            "Canceled",
            "Response 1",
            "Question 1",
        ],
    )

    # Typeform: Results > Responses > Download (CSV): one column per question.
    cols = {
        "#": lambda p: f"r{p['id']}x{p['i']:03d}",
        "What's your first name?": lambda p: p["first"],
        "And your last name?": lambda p: p["last"],
        "Email": lambda p: p["email"],
        "Phone number": lambda p: p["phone"],
        "Company": lambda p: p["org"],
        "Which region are you in?": lambda p: p["region"],
        "Anything else you'd like to tell us?": lambda p: p["note"],
        "Would you like to receive our email newsletter?": lambda p: p["bit"],
        "Start Date (UTC)": lambda p: f"{p['created']} {p['time']}",
        "Submit Date (UTC)": lambda p: f"{p['created']} {p['time']}",
        "Network ID": lambda p: f"{p['id'] * 3:x}",
        "Tags": lambda p: "",
    }
    rows, planted = build("typeform", cols, 36, 11, "Email")
    add(
        "typeform-responses.csv",
        rows,
        planted,
        [
            ["firstName", "What's your first name?"],
            ["lastName", "And your last name?"],
            ["emails", "Email"],
            ["phones", "Phone number"],
            ["organization", "Company"],
        ],
        [
            "#",
            "Which region are you in?",
            "Would you like to receive our email newsletter?",
            "Start Date (UTC)",
            "Submit Date (UTC)",
            "Network ID",
        ],
    )

    # Teachable: Users > Export users: one full-name column.
    cols = {
        "Name": lambda p: p["full"],
        "Email": lambda p: p["email"],
        "Joined": lambda p: us_date(p["created"]),
        "Last Sign In": lambda p: us_date(p["created"]),
        "Role": lambda p: "Student",
        "Courses": lambda p: "Intro to Pottery; Glazing 101",
        "Total Spend": lambda p: p["amount"],
        "Unsubscribed": lambda p: p["rand"].choice(["true", "false"]),
        "First Purchase": lambda p: us_date(p["created"]),
    }
    rows, planted = build("teachable", cols, 40, 12, "Email")
    add(
        "teachable-users.csv",
        rows,
        planted,
        [["firstName", "Name"], ["lastName", "Name"], ["emails", "Email"]],
        [
            "Joined",
            "Last Sign In",
            "Role",
            "Courses",
            "Total Spend",
            "Unsubscribed",
            "First Purchase",
        ],
    )

    # Zoho Desk: Contacts > Export; the agent who owns the contact is on every row.
    cols = {
        "Contact ID": lambda p: f"4700000{p['id']}",
        "Contact Owner": lambda p: "Sam Okoye",
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Email": lambda p: p["email"],
        "Secondary Email": lambda p: p["email2"] if p["i"] % 2 else "",
        "Phone": lambda p: p["phone"],
        "Mobile": lambda p: p["mobile"],
        "Account Name": lambda p: p["org"],
        "Title": lambda p: p["job"],
        "Description": lambda p: p["note"],
        "Street": lambda p: p["street"],
        "City": lambda p: p["city"],
        "State": lambda p: p["state"],
        "Zip": lambda p: p["zip"],
        "Country": lambda p: p["country"],
        "Created Time": lambda p: f"{eu_date(p['created'])} {p['time'][:5]}",
        "Modified Time": lambda p: f"{eu_date(p['created'])} {p['time'][:5]}",
        "Ticket No.": lambda p: str(310000 + p["id"]),
        "Happiness Rating": lambda p: p["count"],
        "Agent Email": lambda p: "sam.okoye@ourcompany.example",
    }
    rows, planted = build("zohodesk", cols, 44, 13, "Email")
    add(
        "zoho-desk-contacts.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email"],
            ["emails", "Secondary Email"],
            ["phones", "Phone"],
            ["phones", "Mobile"],
            ["organization", "Account Name"],
            ["jobTitle", "Title"],
            ["background", "Description"],
            ["address.lines", "Street"],
            ["address.city", "City"],
            ["address.state", "State"],
            ["address.postalCode", "Zip"],
            ["address.country", "Country"],
        ],
        [
            "Contact ID",
            "Contact Owner",
            "Created Time",
            "Modified Time",
            "Ticket No.",
            "Happiness Rating",
            "Agent Email",
        ],
    )

    # Capsule CRM: People & Organisations > Export.
    cols = {
        "Type": lambda p: "Person",
        "Name": lambda p: p["full"],
        "Job Title": lambda p: p["job"],
        "Organisation": lambda p: p["org"],
        "Email Address": lambda p: p["email"],
        "Phone Number": lambda p: p["phone"],
        "Website": lambda p: f"https://{p['org'].split()[0].lower()}.example",
        "Address Street": lambda p: p["street"],
        "City": lambda p: p["city"],
        "Postcode": lambda p: p["zip"],
        "Country": lambda p: p["country"],
        "Tags": lambda p: "Customer",
        "Owner": lambda p: "Jamie Lund",
        "Last Contacted": lambda p: eu_date(p["created"]),
        "Background Info": lambda p: p["note"],
        "Comments": lambda p: "",
    }
    rows, planted = build("capsule", cols, 38, 14, "Email Address")
    add(
        "capsule-people.csv",
        rows,
        planted,
        [
            ["firstName", "Name"],
            ["lastName", "Name"],
            ["emails", "Email Address"],
            ["phones", "Phone Number"],
            ["jobTitle", "Job Title"],
            ["organization", "Organisation"],
            ["websites", "Website"],
            ["address.lines", "Address Street"],
            ["address.city", "City"],
            ["address.postalCode", "Postcode"],
            ["address.country", "Country"],
            ["background", "Background Info"],
        ],
        ["Type", "Tags", "Owner", "Last Contacted"],
    )

    # Copper: People > Export; "Contact" is the person's whole name.
    cols = {
        "Contact": lambda p: p["full"],
        "Title": lambda p: p["job"],
        "Company": lambda p: p["org"],
        "Work Email": lambda p: p["email"],
        "Work Phone": lambda p: p["phone"],
        "Owned By": lambda p: "Priya Anand",
        "Date Added": lambda p: f"{us_date(p['created'])} {p['time'][:5]}",
        "Date Modified": lambda p: f"{us_date(p['created'])} {p['time'][:5]}",
        "Street": lambda p: p["street"],
        "City": lambda p: p["city"],
        "State": lambda p: p["state"],
        "Postal Code": lambda p: p["zip"],
        "Country": lambda p: p["cc"],
        "Details": lambda p: p["note"],
        "Tags": lambda p: "",
        "Interaction Count": lambda p: p["count"],
        "Referrer Email": lambda p: "partners@referrals.example",
    }
    rows, planted = build("copper", cols, 36, 15, "Work Email")
    add(
        "copper-people.csv",
        rows,
        planted,
        [
            ["firstName", "Contact"],
            ["lastName", "Contact"],
            ["emails", "Work Email"],
            ["phones", "Work Phone"],
            ["jobTitle", "Title"],
            ["organization", "Company"],
            ["address.lines", "Street"],
            ["address.city", "City"],
            ["address.state", "State"],
            ["address.postalCode", "Postal Code"],
            ["address.country", "Country"],
            ["background", "Details"],
        ],
        ["Owned By", "Date Added", "Date Modified", "Interaction Count", "Referrer Email"],
    )
    # Held out: written after the engine was, and measured before any change to it.
    # Constant Contact: Contacts > Export (all contact properties).
    cols = {
        "Email address": lambda p: p["email"],
        "First name": lambda p: p["first"],
        "Last name": lambda p: p["last"],
        "Email status": lambda p: "Active",
        "Email permission status": lambda p: p["rand"].choice(["Explicit", "Implicit"]),
        "Email update source": lambda p: "Contact",
        "Email Lists": lambda p: p["rand"].choice(["General Interest", "General Interest, VIP"]),
        "Job title": lambda p: p["job"],
        "Company name": lambda p: p["org"],
        "Phone - mobile": lambda p: p["mobile"],
        "Phone - work": lambda p: p["phone"],
        "Street address line 1 - Home": lambda p: p["street"],
        "City - Home": lambda p: p["city"],
        "State/Province - Home": lambda p: p["state"],
        "Zip/Postal Code - Home": lambda p: p["zip"],
        "Country - Home": lambda p: p["country"],
        "Created At": lambda p: us_date(p["created"]) + " " + p["time"][:5],
        "Updated At": lambda p: us_date(p["created"]) + " " + p["time"][:5],
        "Source Name": lambda p: "Sign-up form",
    }
    rows, planted = build("constantcontact", cols, 40, 16, "Email address")
    add(
        "constant-contact-contacts.csv",
        rows,
        planted,
        [
            ["firstName", "First name"],
            ["lastName", "Last name"],
            ["emails", "Email address"],
            ["jobTitle", "Job title"],
            ["organization", "Company name"],
            ["phones", "Phone - mobile"],
            ["phones", "Phone - work"],
            ["address.lines", "Street address line 1 - Home"],
            ["address.city", "City - Home"],
            ["address.state", "State/Province - Home"],
            ["address.postalCode", "Zip/Postal Code - Home"],
            ["address.country", "Country - Home"],
        ],
        [
            "Email status",
            "Email permission status",
            "Email update source",
            "Email Lists",
            "Created At",
            "Updated At",
            "Source Name",
        ],
    )

    # Keap (Infusionsoft): Contacts > Export.
    cols = {
        "Id": lambda p: str(p["i"] + 1),
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Email": lambda p: p["email"],
        "Phone 1": lambda p: p["phone"],
        "Phone 1 Type": lambda p: "Work",
        "Company": lambda p: p["org"],
        "Street Address 1": lambda p: p["street"],
        "City": lambda p: p["city"],
        "State": lambda p: p["state"],
        "Postal Code": lambda p: p["zip"],
        "Country": lambda p: p["country"],
        "Tags": lambda p: p["rand"].choice(["Customer", "Customer, Newsletter"]),
        "Person Type": lambda p: p["rand"].choice(["Customer", "Prospect"]),
        "Owner": lambda p: "Casey Ford",
        "Date Created": lambda p: us_date(p["created"]),
        "Last Updated": lambda p: us_date(p["created"]),
        "Lead Source": lambda p: "Webinar",
        "Referral Partner": lambda p: "Blue Fern Ltd",
    }
    rows, planted = build("keap", cols, 40, 17, "Email")
    add(
        "keap-contacts.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email"],
            ["phones", "Phone 1"],
            ["organization", "Company"],
            ["address.lines", "Street Address 1"],
            ["address.city", "City"],
            ["address.state", "State"],
            ["address.postalCode", "Postal Code"],
            ["address.country", "Country"],
        ],
        [
            "Id",
            "Tags",
            "Person Type",
            "Owner",
            "Date Created",
            "Last Updated",
            "Lead Source",
            "Referral Partner",
        ],
    )

    # MailerLite: Subscribers > Export; "Name" is the given name.
    cols = {
        "Subscriber": lambda p: p["email"],
        "Name": lambda p: p["first"],
        "Last name": lambda p: p["last"],
        "Company": lambda p: p["org"],
        "Country": lambda p: p["country"],
        "City": lambda p: p["city"],
        "Phone": lambda p: p["phone"],
        "Groups": lambda p: p["rand"].choice(["Newsletter", "Newsletter, Customers"]),
        "Subscribed": lambda p: f"{p['created']} {p['time']}",
        "Sent": lambda p: p["count"],
        "Opens": lambda p: p["count"],
        "Clicks": lambda p: p["count"],
        "IP": lambda p: f"192.0.2.{p['i'] + 1}",
    }
    rows, planted = build("mailerlite", cols, 40, 18, "Subscriber")
    add(
        "mailerlite-subscribers.csv",
        rows,
        planted,
        [
            ["firstName", "Name"],
            ["lastName", "Last name"],
            ["emails", "Subscriber"],
            ["organization", "Company"],
            ["phones", "Phone"],
            ["address.city", "City"],
            ["address.country", "Country"],
        ],
        ["Groups", "Subscribed", "Sent", "Opens", "Clicks", "IP"],
    )

    # Kajabi: People > Export.
    cols = {
        "Name": lambda p: p["full"],
        "Email": lambda p: p["email"],
        "Phone Number": lambda p: p["mobile"],
        "Address Line 1": lambda p: p["street"],
        "Address Line 2": lambda p: "",
        "City": lambda p: p["city"],
        "State": lambda p: p["state"],
        "Country": lambda p: p["cc"],
        "Zipcode": lambda p: p["zip"],
        "Created At": lambda p: f"{p['created']} {p['time']} UTC",
        "Last Activity": lambda p: f"{p['created']} {p['time']} UTC",
        "Tags": lambda p: p["rand"].choice(["Member", "Member, Affiliate"]),
        "Products": lambda p: p["rand"].choice(["Course A", "Course A, Coaching"]),
        "Sign In Count": lambda p: p["count"],
    }
    rows, planted = build("kajabi", cols, 40, 19, "Email")
    add(
        "kajabi-people.csv",
        rows,
        planted,
        [
            ["firstName", "Name"],
            ["lastName", "Name"],
            ["emails", "Email"],
            ["phones", "Phone Number"],
            ["address.lines", "Address Line 1"],
            ["address.city", "City"],
            ["address.state", "State"],
            ["address.country", "Country"],
            ["address.postalCode", "Zipcode"],
        ],
        ["Created At", "Last Activity", "Tags", "Products", "Sign In Count"],
    )

    # Chargebee: Customers > Export, in its bulk-operation columns (customer[...], ...).
    cols = {
        "customer[id]": lambda p: f"AzZ{p['id']:07d}",
        "customer[first_name]": lambda p: p["first"],
        "customer[last_name]": lambda p: p["last"],
        "customer[email]": lambda p: p["email"],
        "customer[company]": lambda p: p["org"],
        "customer[phone]": lambda p: p["phone"],
        "customer[auto_collection]": lambda p: p["rand"].choice(["on", "off"]),
        "customer[net_term_days]": lambda p: p["rand"].choice(["0", "30"]),
        "customer[taxability]": lambda p: "taxable",
        "customer[created_at]": lambda p: f"{p['created']} {p['time']}",
        "billing_address[first_name]": lambda p: p["first"],
        "billing_address[last_name]": lambda p: p["last"],
        "billing_address[line1]": lambda p: p["street"],
        "billing_address[line2]": lambda p: "",
        "billing_address[city]": lambda p: p["city"],
        "billing_address[state_code]": lambda p: p["state"],
        "billing_address[zip]": lambda p: p["zip"],
        "billing_address[country]": lambda p: p["cc"],
    }
    rows, planted = build("chargebee", cols, 40, 20, "customer[email]")
    add(
        "chargebee-customers.csv",
        rows,
        planted,
        [
            ["firstName", "customer[first_name]"],
            ["lastName", "customer[last_name]"],
            ["emails", "customer[email]"],
            ["organization", "customer[company]"],
            ["phones", "customer[phone]"],
            ["address.lines", "billing_address[line1]"],
            ["address.city", "billing_address[city]"],
            ["address.postalCode", "billing_address[zip]"],
            ["address.country", "billing_address[country]"],
        ],
        ["customer[id]", "customer[auto_collection]", "customer[net_term_days]",
         "customer[taxability]", "customer[created_at]"],
        # the name on the billing address is a name, not a street line
        [["address.lines", "billing_address[first_name]"],
         ["address.lines", "billing_address[last_name]"]],
    )  # fmt: skip

    # Patreon: Audience > Relationship manager > Export CSV; one column for the whole name.
    cols = {
        "Name": lambda p: p["full"],
        "Email": lambda p: p["email"],
        "Twitter": lambda p: "",
        "Patron Status": lambda p: p["rand"].choice(["Active patron", "Former patron"]),
        "Follows You": lambda p: p["flag"],
        "Lifetime Amount": lambda p: p["amount"],
        "Pledge Amount": lambda p: p["rand"].choice(["5.00", "10.00"]),
        "Charge Frequency": lambda p: "monthly",
        "Tier": lambda p: p["rand"].choice(["Bronze", "Gold"]),
        "Addressee": lambda p: p["full"],
        "Street": lambda p: p["street"],
        "City": lambda p: p["city"],
        "State": lambda p: p["state"],
        "Zip": lambda p: p["zip"],
        "Country": lambda p: p["cc"],
        "Phone": lambda p: p["mobile"],
        "Patronage Since Date": lambda p: f"{p['created']} {p['time']}.000000",
        "Last Charge Date": lambda p: f"{p['created']} {p['time']}.000000",
        "Last Charge Status": lambda p: p["rand"].choice(["Paid", "Declined"]),
        "Additional Details": lambda p: "",
        "User ID": lambda p: str(p["id"]),
        "Currency": lambda p: "EUR",
    }
    rows, planted = build("patreon", cols, 40, 21, "Email")
    add(
        "patreon-members.csv",
        rows,
        planted,
        [
            ["firstName", "Name"],
            ["lastName", "Name"],
            ["emails", "Email"],
            ["phones", "Phone"],
            ["address.lines", "Street"],
            ["address.city", "City"],
            ["address.postalCode", "Zip"],
            ["address.country", "Country"],
        ],
        ["Patron Status", "Follows You", "Lifetime Amount", "Pledge Amount", "Tier",
         "Patronage Since Date", "Last Charge Date", "Last Charge Status", "User ID", "Currency"],
    )  # fmt: skip

    # Wix: Contacts > Export; numbered emails, phones and addresses.
    cols = {
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "Email 1": lambda p: p["email"],
        "Email 2": lambda p: p["email2"] if p["i"] % 3 == 0 else "",
        "Phone 1": lambda p: p["phone"],
        "Phone 2": lambda p: p["mobile"] if p["i"] % 2 else "",
        "Address 1 - Type": lambda p: p["rand"].choice(["Home", "Billing"]),
        "Address 1 - Street": lambda p: p["street"],
        "Address 1 - City": lambda p: p["city"],
        "Address 1 - State/Region": lambda p: p["state"],
        "Address 1 - Zip": lambda p: p["zip"],
        "Address 1 - Country": lambda p: p["country"],
        "Company": lambda p: p["org"],
        "Position": lambda p: p["job"],
        "Labels": lambda p: p["rand"].choice(["Customer", "Lead; Newsletter"]),
        "Email subscriber status": lambda p: p["rand"].choice(["Subscribed", "Unsubscribed"]),
        "Created At (UTC+0)": lambda p: f"{p['created']} {p['time'][:5]}",
        "Last Activity": lambda p: p["rand"].choice(["Form submitted", "Purchased"]),
        "Language": lambda p: "en",
    }
    rows, planted = build("wix", cols, 40, 22, "Email 1")
    add(
        "wix-contacts.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email 1"],
            ["emails", "Email 2"],
            ["phones", "Phone 1"],
            ["organization", "Company"],
            ["jobTitle", "Position"],
            ["address.lines", "Address 1 - Street"],
            ["address.city", "Address 1 - City"],
            ["address.postalCode", "Address 1 - Zip"],
            ["address.country", "Address 1 - Country"],
        ],
        ["Labels", "Email subscriber status", "Created At (UTC+0)", "Last Activity", "Language"],
    )

    # LinkedIn: Settings > Data privacy > Get a copy of your data > Connections.csv, whose
    # header comes after a "Notes:" preamble; emails only where the connection allowed it.
    cols = {
        "First Name": lambda p: p["first"],
        "Last Name": lambda p: p["last"],
        "URL": lambda p: f"https://www.linkedin.com/in/{p['email'].split('@')[0]}",
        "Email Address": lambda p: p["email"] if p["i"] % 4 else "",
        "Company": lambda p: p["org"],
        "Position": lambda p: p["job"],
        "Connected On": lambda p: p["rand"].choice(["12 Mar 2024", "03 Jan 2023", "28 Feb 2022"]),
    }
    notes = (
        'Notes:\n"When exporting your connection data, you may notice that some of the email '
        "addresses are missing. You will only see email addresses for connections who have "
        'allowed their connections to see or download their email address."\n\n'
    )
    rows, planted = build("linkedin", cols, 40, 23, "Email Address")
    add(
        "linkedin-connections.csv",
        rows,
        planted,
        [
            ["firstName", "First Name"],
            ["lastName", "Last Name"],
            ["emails", "Email Address"],
            ["organization", "Company"],
            ["jobTitle", "Position"],
            ["socialProfiles", "URL"],
        ],
        ["Connected On"],
        preamble=notes,
    )
    return manifest


if __name__ == "__main__":
    found = files()
    (HERE / "manifest.json").write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(found)} files")
