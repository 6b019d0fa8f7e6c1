"""importer.suggest: header words, value sniffing, the engine, drafts, presets (pure, as tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from importer.customer import schema
from importer.customer.values import country_code, date_cover, date_formats, is_phone, sniff
from importer.mapping import Mapping, load_mapping
from importer.read import TEXT
from importer.suggest import presets, recognise, suggest_file, suggest_mapping
from importer.suggest.draft import Draft, Field, columns_of, emit, flow, iter_specs, parse, trim
from importer.suggest.engine import suggest
from importer.suggest.fit import judge
from importer.suggest.headers import read_header, words
from importer.suggest.presets import MIN_SHARE, fingerprint

ROOT = Path(__file__).resolve().parent.parent


# --- header words -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Prénom", ("prenom",)), ("Straße", ("strasse",)), ("EmailID", ("email", "id")),
        ("Address1", ("address", "1")), ("Card Address Line1", ("card", "address", "line", "1")),
        ("E-mail 2 Address", ("email", "2", "address")), ("Mobiltelefon", ("mobil", "telefon")),
        ("Telefoonnummer", ("telefoon", "nummer")), ("jobTitle", ("job", "title")),
        ("MailingPostalCode", ("mailing", "postal", "code")),
        ("E-Mail-Adresse", ("email", "adresse")),
        ("Código postal", ("codigo", "postal")), ("Rechnungsadresse", ("rechnungs", "adresse")),
    ],
)  # fmt: skip
def test_headers_fold_into_words(text, folded):
    assert words(text) == folded


@pytest.mark.parametrize(
    ("header", "kind", "entry_type", "group"),
    [
        # prefixes and suffixes say which address or entry type; they never block the match
        ("Default Address City", "city", None, ""), ("Billing Country", "country", None, "billing"),
        ("Card Address Line1", "street", None, "card"),
        ("Address 1 - Postal Code", "postalCode", None, "1"),
        ("Address 2 - Country", "country", None, "2"),
        ("Default Address Address1", "street", None, ""),
        ("Address Line 2", "street", None, ""), ("State/Region", "state", None, ""),
        ("Street Address 1", "street", None, ""), ("Street Address 2", "street", None, ""),
        ("Country/Region", "country", None, ""), ("Country / Region", "country", None, ""),
        ("Mailing Zip/Postal Code", "postalCode", None, "mailing"),
        ("Person - Postal address - ZIP/Postal code", "postalCode", None, ""),
        ("Shipping Address Line1", "street", None, "shipping"),
        ("Billing Code", "code", None, "billing"),
        ("E-mail 2 Address", "email", None, ""), ("Email Home", "email", "home", "home"),
        ("EmailID", "email", None, ""), ("Secondary Email", "email", "other", ""),
        ("Web Page 1", "website", None, ""), ("Website URL", "website", None, ""),
        ("Business Phone", "phone", "work", "work"), ("Home Fax", "phone", "fax", "home"),
        ("Mobile Phone Number", "phone", "mobile", ""), ("Pager Number", "phone", "pager", ""),
        ("Company Main Phone", "phone", "work", ""), ("Phone Number (2)", "phone", None, ""),
        ("Job Title", "jobTitle", None, ""), ("Title", "title", None, ""),
        ("Organization 1 - Title", "jobTitle", None, ""),
        ("Organization Name", "organization", None, ""),
        ("Account Name", "organization", None, ""),
        ("Default Address Company", "organization", None, ""),
        # a name on an address (Chargebee) is a name, as "Billing First Name" is; "Address Name"
        # is its addressee or its label, no street line
        ("billing_address[first_name]", "firstName", None, "billing"),
        ("Shipping Address Last Name", "lastName", None, "shipping"),
        ("Address Name", "ignore", None, ""), ("default_address.name", "ignore", None, ""),
        # someone else's (a club board's child, parent, school), the company's own figures
        ("Childs name", "ignore", None, ""), ("Parent's Name", "ignore", None, ""),
        ("School Name", "ignore", None, ""), ("Contact Type", "ignore", None, ""),
        ("Company Address", "ignore", None, ""), ("Annual Revenue", "ignore", None, ""),
        ("Company Linkedin Url", "ignore", None, ""), ("Person Linkedin Url", "social", None, ""),
        ("function", "jobTitle", None, ""), ("Site", "website", None, ""),
        # English words that end as a German compound does: no "Ort" in them, no city
        ("Short Name", "ignore", None, ""), ("Support", None, None, ""),
        ("report_csv", None, None, ""), ("Passport", None, None, ""), ("Ethnicity", None, None, ""),
        ("Wohnort", "city", None, ""), ("Standort", "city", None, ""),
        ("billingcity", "city", None, "billing"),
        ("shipping_address.name", "ignore", None, "shipping"),
        ("contact_name_first", "firstName", None, ""), ("Name Last", "lastName", None, ""),
        ("Full Name", "fullName", None, ""), ("Display Name", "displayName", None, ""),
        ("Given Name", "firstName", None, ""), ("Family Name", "lastName", None, ""),
        ("Address 1 - Formatted", "formatted", None, "1"), ("E-mail 1 - Type", "label", None, ""),
        ("Phone 3 - Label", "label", None, ""), ("Twitter", "social", None, ""),
        ("LinkedIn URL", "social", None, ""), ("Skype ID", "chat", None, ""),
        ("Notes", "background", None, ""), ("Created (UTC)", "date", None, ""),
        # another person, a record id, a setting: not the customer's
        ("Assistant's Phone", "ignore", None, ""), ("Billing Attention", "ignore", None, "billing"),
        ("Item Name", "ignore", None, ""), ("Giftee Email", "ignore", None, ""),
        ("Coupon Details", "ignore", None, ""),
        ("Manager's Name", "ignore", None, ""), ("Accepts Email Marketing", "ignore", None, ""),
        ("E-mail Display Name", "ignore", None, ""),
        ("Organization 1 - Location", "ignore", None, ""),
        ("Customer ID", "id", None, ""), ("Record ID", "id", None, ""),
        # "#" and "No." say number: Eventbrite's "Order #" is an order's, not a phone
        ("Order #", "id", None, ""), ("Attendee #", "id", None, ""),
        ("Ticket No.", "id", None, ""), ("Phone #", "phone", None, ""),
        # "other" is a type of chats and of social profiles, not the name of one
        ("Other Number", "id", None, "other"), ("Other Email", "email", "other", "other"),
        ("Phone No.", "phone", None, ""),
        ("Middle Name", "ignore", None, ""),
        # German, French, Spanish, Italian, Dutch, Portuguese
        ("Vorname", "firstName", None, ""), ("Nachname", "lastName", None, ""),
        ("Firma", "organization", None, ""), ("Straße", "street", None, ""),
        ("PLZ", "postalCode", None, ""),
        ("Ort", "city", None, ""), ("Land", "country", None, ""),
        ("Mobiltelefon", "phone", "mobile", ""),
        ("Telefon geschäftlich", "phone", "work", "work"),
        ("Rechnungsadresse", "street", None, "billing"),
        ("Lieferadresse Ort", "city", None, "shipping"), ("Prénom", "firstName", None, ""),
        ("Nom", "lastName", None, ""), ("Société", "organization", None, ""),
        ("Ville", "city", None, ""), ("Code postal", "postalCode", None, ""),
        ("Pays", "country", None, ""),
        ("Tél. mobile", "phone", "mobile", ""), ("Adresse e-mail", "email", None, ""),
        ("Téléphone (bureau)", "phone", "work", "work"), ("Nombre", "firstName", None, ""),
        ("Apellidos", "lastName", None, ""), ("Empresa", "organization", None, ""),
        ("Código postal", "postalCode", None, ""), ("País", "country", None, ""),
        ("Correo electrónico", "email", None, ""), ("Teléfono móvil", "phone", "mobile", ""),
        ("Ciudad", "city", None, ""), ("Dirección", "street", None, ""),
        ("Cognome", "lastName", None, ""),
        ("Città", "city", None, ""), ("Achternaam", "lastName", None, ""),
        ("Woonplaats", "city", None, ""),
        ("Telefoonnummer", "phone", None, ""), ("Sobrenome", "lastName", None, ""),
        ("Cidade", "city", None, ""), ("Celular", "phone", "mobile", ""),
        # nothing known
        ("col3", None, None, ""), ("Kontakt", None, None, ""),
    ],
)  # fmt: skip
def test_a_header_is_read_by_its_words(header, kind, entry_type, group):
    reading = read_header(header)
    assert (reading.kind, reading.entry_type, reading.group) == (kind, entry_type, group)


# --- values ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["ana@example.com", "bo@example.org", "", "cy@example.net"], "email"),
        (["ana@example.com ::: ana@work.example", "bo@example.org", "cy@example.net"], "emails"),
        (["'+1 555 0100 123", "(555) 010-0199", "+44 20 7946 0958", "030 1234567"], "phone"),
        (["https://a.example", "www.b.example", "shop.example.org/x"], "url"),
        (["Deutschland", "Frankreich", "Österreich", "DE"], "country"),
        (["United States", "Canada", "GB", "deu"], "country"),
        (["13.02.2021", "01.03.2020", "24.12.1999"], "date"),
        (["Mr", "Ms.", "Dr", "Frau"], "salutation"),
        (["yes", "no", "no"], "bool"),
        (["active", "Cancelled", "bounced", "active"], "status"),  # Kit's subscriber "state"
        (["3", "12.50", "0"], "number"),
        (["1 Main St\nApt 2", "7 Elm Rd\nUnit 3", "9 Oak Ave"], "multiline"),
        # state codes are not countries, ZIP+4 and record numbers are not phones
        (["NY", "TX", "WA", "CA"], None), (["02134-1234", "90210-0001", "10115-2222"], None),
        (["8779761975521", "7999252627681", "7999252627682"], "number"),
        # null markers are no values; too few values say nothing
        (["null", "N/A", "ana@example.com", "bo@example.org", "cy@example.org"], "email"),
        (["ana@example.com", ""], None),
    ],
)  # fmt: skip
def test_values_say_what_a_column_holds(values, kind):
    assert sniff(values).kind == kind


@pytest.mark.parametrize(
    ("values", "formats"),
    [
        (["13.02.2021", "01.03.2020"], ("%d.%m.%Y",)),
        (["02/13/2021", "01/30/2020"], ("%m/%d/%Y",)),
        (["02/03/2021", "01/03/2020"], ("%d/%m/%Y", "%m/%d/%Y")),
        (["2024-01-05 10:00:00", "2023-11-30 23:59:59"], ("%Y-%m-%d %H:%M:%S",)),
        (["2024-01-05T10:00:00Z"], ("%Y-%m-%dT%H:%M:%SZ",)),
        # Python's isoformat() and str() of a time with microseconds (API dumps, databases)
        (["2024-04-13T03:27:56.973873", "2024-04-14T08:12:01"], ()),
        (["2024-04-13T03:27:56.973873", "2024-04-14T08:12:01.5"], ("%Y-%m-%dT%H:%M:%S.%f",)),
        (["2024-04-13 03:27:56.973873"], ("%Y-%m-%d %H:%M:%S.%f",)),
        (["05 Jan 2024"], ("%d %b %Y",)),
        (["Ana", "2024-01-05"], ()),
    ],
)  # fmt: skip
def test_the_date_format_is_detected(values, formats):
    assert date_formats(values)[: len(formats) or 1] == formats


def test_a_date_column_carries_its_format_in_the_evidence():
    found = sniff(["13.02.2021", "01.03.2020", "24.12.1999", "31.01.2000"])
    assert found.evidence() == '100% of 4 sampled values look like dates written "%d.%m.%Y"'


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        # record numbers: bare, unique, close together; phones written bare vary far more
        ([str(20240000 + i * 37) for i in range(20)], "id"),
        (["4155550134", "3035550199", "2125550100", "6175550123"], "phone"),
        (["4155550134", "4155550177", "4155550199", "4155550121"], "phone"),  # one area code
        ([str(7001300000 + i * 13) for i in range(20)], "id"),  # no valid phones
        # international numbers written without their "+": one country's are close too
        (["27825550101", "27835550102", "27845550103", "27725550104", "27795550106"], "phone"),
        ([str(6543210987654 + i * 101) for i in range(8)], "id"),  # Shopify's customer ids
        (["0700900123", "0700900124", "0700900125"], "phone"),
        (["12,50 €", "1.234,00 €", "0,99 €"], "number"), (["$12.50", "$3.00", "$0.99"], "number"),
        (["Newsletter", "Newsletter; VIP", "Sale alerts", "VIP", "VIP; Sale alerts"], "list"),
        (["Mostly up north, near Leeds", "I split my time between two cities",
          "Not sure yet - still moving", "East coast, but travelling a lot"], "text"),
        (["Ana Ortega", "Kofi Mensah", "Pieter de Vries", "Mei Tanaka"], None),
    ],
)  # fmt: skip
def test_values_say_when_they_are_ids_amounts_lists_or_sentences(values, kind):
    assert sniff(values).kind == kind


@pytest.mark.parametrize(
    ("values", "cover"),
    [
        (["2024-01-05", "05/01/2024", "2023-11-30", "30/11/2023"], ("%Y-%m-%d", "%d/%m/%Y")),
        (["2024-01-05", "2023-11-30"], ()),  # one format is enough
        (["2024-01-05", "Ana", "Bo", "Cy"], ()),  # nothing covers them
    ],
)  # fmt: skip
def test_dates_written_several_ways_get_every_format_they_need(values, cover):
    assert date_cover(values) == cover


def test_dates_written_several_ways_become_a_date_property_with_a_format_list():
    dates = ["2024-01-05", "05/01/2024", "2023-11-30", "30/11/2023", "2022-02-01"]
    leftover = suggest(["Signed Up"], {"Signed Up": dates}).leftovers["signed-up"]
    assert leftover.spec == {"column": "Signed Up", "type": "date",
                             "format": ["%Y-%m-%d", "%d/%m/%Y"]}  # fmt: skip


EMAILS = [f"person{i}@example.com" for i in range(12)]
DATES = [f"2024-01-{i + 1:02d}" for i in range(12)]
NAMES = ["Ana", "Kofi", "Mei", "Lars", "Priya", "Tomás", "Ravi", "Ingrid", "Omar", "Zofia"]


@pytest.mark.parametrize(
    ("kind", "values", "kept", "confidence"),
    [
        # the header names the field and the values agree
        ("email", EMAILS, "email", "high"), ("lastName", NAMES, "lastName", "high"),
        ("phone", ["+1 415 555 0134", "+49 30 1234567", "+44 20 7946 0958"], "phone", "high"),
        # values that contradict the header rule the column out
        ("lastName", DATES, None, "high"), ("firstName", DATES, None, "high"),
        ("lastName", [f"{d} 10:00 (UTC+1)" for d in DATES], None, "high"),  # no format reads
        ("email", ["Yes", "No", "Yes", "No"], None, "high"),
        ("email", ["Newsletter", "Newsletter; VIP", "Sale alerts", "VIP"], None, "high"),
        ("phone", [str(20240000 + i) for i in range(12)], "phone", "low"),
        ("street", ["0", "1", "1", "0"], None, "high"),
        ("website", ["store-042.example.com"] * 12, None, "high"),
        ("country", ["Mostly up north, near Leeds", "I split my time between two cities",
                     "Not sure yet - still moving", "East coast, but travelling a lot"], None,
         "high"),
        ("country", ["Atlantis", "Lemuria", "Hyperborea", "Thule"], "country", "low"),
        # one value on every row is the account's, not each customer's
        ("email", ["owner@ourcompany.example"] * 12, None, "high"),
        ("fullName", ["Morgan Hale"] * 12, None, "high"),
        ("country", ["US"] * 12, "country", "high"),  # all customers in one country: fine
        # the header says nothing: the values decide, less surely
        (None, EMAILS, "email", "medium"), (None, DATES, "date", "medium"),
        (None, NAMES, None, "high"),
        # too few values to check the header
        ("email", ["a@example.com"], "email", "medium"),
        # ...but enough to contradict a field that must have a shape (Xero's IncludeInEmail)
        ("email", ["Yes", "No"], None, "high"), ("website", ["Yes"], None, "high"),
    ],
)  # fmt: skip
def test_values_decide_and_headers_suggest(kind, values, kept, confidence):
    verdict = judge(kind, sniff(values))
    assert (verdict.kind, verdict.confidence) == (kept, confidence)
    assert verdict.reason


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Buyer Email", "ignore"), ("Host Name", "ignore"), ("User Email", "ignore"),
        ("Agent Email", "ignore"), ("Guest Email(s)", "ignore"), ("Referrer Email", "ignore"),
        ("Second Contact Email", "ignore"), ("Contact 2 Phone", "ignore"),
        ("Owned By", "ignore"), ("Direct Line", "phone"), ("SMS number", "phone"),
        ("WhatsApp", "phone"), ("LANDLINE_NUMBER", "phone"), ("Remarks", "background"),
        ("Memo", "background"), ("Contact", "fullName"), ("Attendee", "fullName"),
        ("Invoice URL", "ignore"), ("Receipt Link", "ignore"), ("Tracking URL", "ignore"),
        ("Website", "website"), ("Invoice Address", "street"),
        # "first" and "last" name a name alone or before a name word, else which one of a thing
        ("Last", "lastName"), ("First", "firstName"), ("Last Name", "lastName"),
        ("Last (Family)", "lastName"), ("Last, First", "lastName"),
        ("Last Activity", None), ("Last Login", None), ("Last Purchase", None),
        ("Last Seen", "date"), ("First Order Date", "date"), ("Last Activity Date", "date"),
    ],
)  # fmt: skip
def test_headers_of_another_person_and_other_names_for_phones_and_notes(header, kind):
    assert read_header(header).kind == kind


def test_an_unsure_suggestion_is_written_for_review_not_mapped(tmp_path):
    sample = {"Email": EMAILS, "Phone": [str(5550100 + i) for i in range(12)]}
    suggestion = suggest_mapping(["Email", "Phone"], sample)
    text = suggestion.text
    heading = text.index("# Review these")
    assert heading < text.index("customer:")
    assert "#   phones: {column: Phone, type: work}" in text
    assert load_text(tmp_path, text).sources == {"emails.0.value": "Email", "emails.0.type": ""}
    assert [(h.path, h.item.confidence) for h in suggestion.draft.review] == [("phones", "low")]
    assert suggestion.summary() == [
        "Mapped: Email -> emails (high).",
        'Left for review (under "Review these", commented out): Phone -> phones: header '
        '"Phone"; check: 100% of 12 sampled values look like record numbers (unique, in '
        "sequence), so maybe not phones.",
    ]


def test_a_column_its_values_rule_out_is_said_and_offered_as_a_property():
    sample = {"Email": EMAILS, "Surname": DATES, "Last Login": DATES}
    suggestion = suggest_mapping(["Email", "Surname", "Last Login"], sample)
    assert "lastName" not in suggestion.draft.fields
    assert suggestion.summary()[-1] == (
        'Not mapped: Surname: its header names "surname", but 100% of 12 sampled values look '
        'like dates written "%Y-%m-%d", not last names.'
    )
    assert suggestion.draft.leftovers["surname"].spec["type"] == "date"
    # "Last Login" names no name at all ("last" before another word): a date, and nothing to say
    assert suggestion.draft.leftovers["last-login"].spec["type"] == "date"
    assert "Last Login" not in "\n".join(suggestion.summary())


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("+1 (555) 010-0199", True), ("030 1234567", True), ("555-0100 x12", True),
        ("+4915112345678", True), ("5550100123", True), ("12345", False), ("pager", False),
        ("null", False), ("2024-01-05", False), ("02134-1234", False), ("8779761975521", False),
        ("192.168.10.21", False), ("13.02.2021", False),
    ],
)  # fmt: skip
def test_what_a_phone_looks_like(text, phone):
    assert is_phone(text) is phone


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Germany", "DE"), ("DE", "DE"), ("deu", "DE"), ("Deutschland", "DE"),
        ("Allemagne", "DE"), ("Alemania", "DE"), ("Germania", "DE"), ("Duitsland", "DE"),
        ("Alemanha", "DE"), ("Royaume-Uni", "GB"), ("España", "ES"), ("Österreich", "AT"),
        ("Vereinigte Staaten", "US"), ("Schweiz", "CH"), ("U.S.A", "US"), ("U.K.", "GB"),
        ("Polska", "PL"), ("Sverige", "SE"), ("Česko", "CZ"), ("Nowhere", None),
    ],
)  # fmt: skip
def test_country_names_in_the_main_european_languages(text, code):
    assert country_code(text) == code


# --- the engine -------------------------------------------------------------------------------
def specs(draft: Draft) -> dict[str, object]:
    return dict(iter_specs(draft))


def test_an_empty_column_a_field_reads_is_not_said_to_be_left_out():
    columns = ["Email", "Email 2", "Fax Number", "Nickname"]
    sample = {"Email": [f"p{i}@example.com" for i in range(5)], "Email 2": [""] * 5,
              "Fax Number": [""] * 5, "Nickname": [""] * 5}  # fmt: skip
    draft = suggest(columns, sample)
    read = {c for spec in specs(draft).values() for c in columns_of(spec)}
    said = " ".join(draft.notes)
    assert "Nickname" in said and "Email 2" in read
    assert not [c for c in read if c in said.partition("left out:")[2]]


@pytest.mark.parametrize(
    ("cells", "entry"),
    [
        (["https://www.linkedin.com/in/ann-lee", "https://uk.linkedin.com/in/bo-ng",
          "linkedin.com/in/cy-ra"], {"socialProfiles.0": {"column": "URL", "type": "linkedin"}}),
        (["https://x.com/annlee", "https://twitter.com/bo"],
         {"socialProfiles.0": {"column": "URL", "type": "twitter"}}),
        # a site of each customer's own, or profiles of two networks: web addresses
        (["https://annlee.example", "https://www.linkedin.com/in/bo-ng"],
         {"websites.0": {"column": "URL"}}),
        (["https://x.com/annlee", "https://www.linkedin.com/in/bo-ng"],
         {"websites.0": {"column": "URL"}}),
    ],
)  # fmt: skip
def test_profile_pages_of_one_network_are_social_profiles(cells, entry):
    """LinkedIn's Connections.csv has a "URL" column of linkedin.com/in/ pages."""
    found = specs(suggest(["Email", "URL"], {"Email": ["a@example.com"] * 3, "URL": cells}))
    assert {k: v for k, v in found.items() if k in entry} == entry


@pytest.mark.parametrize("filled", [1, 3])
def test_an_other_number_is_never_a_chat(filled):
    """A phone system's contacts export (Business/Mobile/Fax/Other Number): "Other" named the
    chat type, so an other number seldom filled became a chat handle. Filled, it is a phone."""
    phones = ["+1 312 555 0141", "+44 20 7946 0011", "+36 1 555 0101"][:filled]
    found = specs(suggest(["Email", "Other Number"], {"Other Number": [*phones, "", ""]}))
    assert not [k for k in found if k.startswith("chats.")]
    phoned = [v["column"] for k, v in found.items() if k.startswith("phones.")]
    assert phoned == (["Other Number"] if filled == 3 else [])


def test_numbered_street_lines_are_one_address():
    """Square's "Street Address 1" and "2" are two lines of one address, not two addresses
    (each then without a city or a country, so never sent)."""
    columns = ["Street Address 1", "Street Address 2", "City", "State", "Postal Code", "Country"]
    found = specs(suggest(columns, {"Country": ["US", "CA", "US"]}))
    assert found["address.0.lines"] == ["Street Address 1", "Street Address 2"]
    assert found["address.0.city"] == "City" and "address.1.lines" not in found


def test_prefixed_headers_map_by_their_words():
    columns = ["Default Address Address1", "Default Address City", "Billing Country",
               "Primary E-mail", "E-mail 2 Address", "Business Phone", "Home Fax", "Job Title",
               "Title", "Web Page 1"]  # fmt: skip
    sample = {"Title": ["Mr", "Ms", "Dr"], "Billing Country": ["US", "DE", "FR"]}
    found = specs(suggest(columns, sample))
    assert found["emails.0"] == {"column": "Primary E-mail", "type": "work"}
    assert found["emails.1"] == {"column": "E-mail 2 Address", "type": "other"}
    assert found["phones.0"] == {"column": "Business Phone", "type": "work"}
    assert found["phones.1"] == {"column": "Home Fax", "type": "fax"}
    assert found["jobTitle"] == {"column": "Job Title"}
    assert found["websites.0"] == {"column": "Web Page 1"}
    # the Mr/Ms "Title" is left out; billing and default addresses are two groups, the one
    # with a country first
    assert "Title" not in {c for spec in found.values() for c in columns_of(spec)}
    assert found["address.0.country"] == {
        "column": "Billing Country",
        "transform": ["country_code"],
    }
    assert found["address.1.lines"] == ["Default Address Address1"]
    assert found["address.1.city"] == "Default Address City"


def test_headers_that_say_nothing_are_mapped_by_their_values():
    columns = [f"col{i}" for i in range(1, 10)]
    rows = [
        ["Ana Silva", "ana@example.com", "+351 21 000 0001", "Lisboa", "Portugal", "12.03.2020",
         "gold", "https://ana.example", "42"],
        ["Bo Lind", "bo@example.org", "+46 8 000 0002", "Stockholm", "Sweden", "01.11.2019",
         "silver", "https://bo.example", "7"],
        ["Cy Dahl", "cy@example.net", "+45 33 00 00 03", "København", "DK", "30.06.2021",
         "gold", "www.cy.example", "19"],
    ]  # fmt: skip
    sample = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    draft = suggest(columns, sample)
    found = specs(draft)
    assert found["emails.0"] == {"column": "col2", "type": "work"}
    assert found["phones.0"] == {"column": "col3", "type": "work"}
    assert found["websites.0"] == {"column": "col8"}
    assert found["address.0.country"] == {"column": "col5", "transform": ["country_code"]}
    assert draft.leftovers["col6"].spec == {"column": "col6", "type": "date", "format": "%d.%m.%Y"}
    assert draft.leftovers["col9"].spec == {"column": "col9", "type": "number"}
    text = emit(draft)
    assert '# header "col2" says nothing; 100% of 3 sampled values look like emails' in text
    assert '#   # 100% of 3 sampled values look like dates written "%d.%m.%Y"' in text


@pytest.mark.parametrize(
    ("columns", "names"),
    [
        (["Vorname", "Name", "E-Mail"], {"firstName": {"column": "Vorname"},
                                         "lastName": {"column": "Name"}}),
        (["Prénom", "Nom", "Courriel"], {"firstName": {"column": "Prénom"},
                                         "lastName": {"column": "Nom"}}),
        (["Nombre", "Apellidos", "Correo"], {"firstName": {"column": "Nombre"},
                                             "lastName": {"column": "Apellidos"}}),
        (["Name", "Last name", "Email"], {"firstName": {"column": "Name"},
                                          "lastName": {"column": "Last name"}}),
        # a whole name alone: name: cuts it; beside first and last names: the fallback
        (["Full Name", "Email"], {"name": "Full Name"}),
        (["Attendee", "Email"], {"name": "Attendee"}), (["Contact", "Email"], {"name": "Contact"}),
        (["Name", "Card Name", "Email"], {"name": {"column": ["Name", "Card Name"]}}),
        (["First Name", "Last Name", "Display Name"],
         {"firstName": {"column": ["First Name", "Display Name"]},
          "lastName": {"column": "Last Name"}}),
        (["Invitee First Name", "Invitee Last Name", "Invitee Name"],
         {"firstName": {"column": ["Invitee First Name", "Invitee Name"]},
          "lastName": {"column": "Invitee Last Name"}}),
    ],
)  # fmt: skip
def test_names_are_split_or_paired_as_the_headers_say(columns, names):
    found = specs(suggest(columns))
    assert {k: v for k, v in found.items() if k in ("name", "firstName", "lastName")} == names


def test_entry_types_come_from_a_label_column_beside_them():
    columns = ["E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value"]
    sample = {"E-mail 1 - Label": ["* Home", "Work", "* Other"],
              "Phone 1 - Label": ["Mobile", "Büro Fax", "Main"]}  # fmt: skip
    found = specs(suggest(columns, sample))
    email_type = found["emails.0"]["type"]  # type: ignore[index]
    assert email_type["column"] == "E-mail 1 - Label" and email_type["default"] == "work"
    assert email_type["map"]["* Home"] == "home"
    phone_type = found["phones.0"]["type"]  # type: ignore[index]
    assert phone_type["map"]["Büro Fax"] == "fax"  # a label seen in the sample, read by its words


@pytest.mark.parametrize(
    ("columns", "read"),
    [
        # Eventbrite: the buyer beside the attendee's own columns is another person
        (["First Name", "Last Name", "Email", "Buyer First Name", "Buyer Email"],
         {"First Name", "Last Name", "Email"}),
        # Amazon's orders report: the buyer's are the only ones, so the customer's
        (["buyer-email", "buyer-name", "buyer-phone-number", "ship-city"],
         {"buyer-email", "buyer-name", "buyer-phone-number", "ship-city"}),
        # Gumroad: the buyer's name is the only name; its email is beside the purchase's
        (["Item Name", "Buyer Name", "Purchase Email", "Buyer Email"],
         {"Buyer Name", "Purchase Email"}),
    ],
)  # fmt: skip
def test_a_buyer_is_the_customer_unless_the_customer_has_columns_of_their_own(columns, read):
    sample = {c: ["Ana Berger", "Bruno Chen", "Chloé Dubois"] for c in columns if "ame" in c}
    sample |= {c: ["ana@example.com", "bo@example.org", "c@example.fr"] for c in columns
               if "mail" in c}  # fmt: skip
    sample |= {c: ["+1 415 555 0101", "+49 30 1234567", "+33 1 23 45 67 89"] for c in columns
               if "phone" in c}  # fmt: skip
    sample |= {"ship-city": ["Berlin", "Paris", "Austin"]}
    draft = suggest(columns, sample)
    assert {c for spec in specs(draft).values() for c in columns_of(spec)} & set(columns) == read


def test_a_column_of_record_states_is_no_region_whatever_its_header():
    """Kit's subscribers export: ``state`` is the subscriber's (active, cancelled, bounced), the
    region is ``location_state``."""
    sample = {"state": ["active", "cancelled", "active", "bounced", "active"],
              "location_state": ["OR", "TX", "MI", "MH", "CA"],
              "city": ["Portland", "Austin", "Milano", "Pune", "Fresno"],
              "country": ["US", "US", "IT", "IN", "US"]}  # fmt: skip
    draft = suggest(list(sample), sample)
    (address,) = draft.addresses
    assert address.parts["state"].spec == "location_state"
    assert "record's states" in draft.ruled_out["state"]


def test_the_more_complete_address_comes_first_and_both_are_offered():
    columns = ["Billing City", "Billing Zip", "Shipping Street", "Shipping City", "Shipping Zip",
               "Shipping Country", "Billing Country"]  # fmt: skip
    sample = {
        "Billing Country": ["US", "", ""],
        "Shipping Country": ["US", "CA", "DE"],
        "Shipping Street": ["1 A St", "2 B St", "3 C St"],
    }
    draft = suggest(columns, sample)
    assert [g.parts["city"].spec for g in draft.addresses] == ["Shipping City", "Billing City"]
    assert all(g.parts["on_incomplete"].spec == "drop" for g in draft.addresses)
    assert draft.addresses[0].notes[0].startswith("shipping address: 4 parts, filled in 3 of 3")


@pytest.mark.parametrize(
    ("columns", "cities"),
    [
        # Xero: each address tagged with a word no list knows, glued on
        (["POAddressLine1", "POCity", "POCountry", "SAAddressLine1", "SACity", "SACountry"],
         [["POCity"], ["SACity"]]),
        (["Postal Address Line 1", "Postal City", "Postal Postcode", "Postal Country",
          "Physical Address Line 1", "Physical City", "Physical Postcode", "Physical Country"],
         [["Postal City"], ["Physical City"]]),
        # one tag alone is one address; "Zip/Postal Code" leads with a word of its own kind
        (["Company Street", "Company City", "Zip/Postal Code", "Country"], [["Company City"]]),
        (["Street", "City", "Country", "Main Office Phone"], [["City"]]),
        # unnamed street lines alone beside one named address without lines (Etsy): its lines
        (["Street 1", "Street 2", "Ship City", "Ship Zipcode", "Ship Country"], [["Ship City"]]),
        # ... not unnamed parts that are an address of their own, nor beside two addresses
        (["Street", "City", "Country", "Ship City", "Ship Country"], [["City"], ["Ship City"]]),
        (["Street", "Ship City", "Ship Country", "Billing City", "Billing Country"],
         [["Ship City"], ["Billing City"], []]),
    ],
)  # fmt: skip
def test_addresses_tagged_by_an_unknown_first_word_are_told_apart(columns, cities):
    like = {
        "Country": ["NZ", "AU", "NZ"],
        "City": ["Auckland", "Sydney", "Nelson"],
        "Line": ["1 Quay St", "2 High St", "PO Box 12"],
        "Street": ["1 Quay St"] * 3,
    }
    sample = {c: v for c in columns for word, v in like.items() if word in c}
    draft = suggest(columns, sample)
    assert [[g.parts["city"].spec] if "city" in g.parts else [] for g in draft.addresses] == cities


def test_a_street_cell_on_several_lines_is_cut_at_the_breaks():
    sample = {"Mailing Street": ["1 Main St\nSuite 2", "3 Elm Rd\nFloor 4", "5 Oak Ave"],
              "Mailing Country": ["US", "US", "US"]}  # fmt: skip
    found = specs(suggest(["Mailing Street", "Mailing Country"], sample))
    assert found["address.0.lines"] == {"column": "Mailing Street", "separator": "\n"}


def test_local_country_names_are_left_to_country_code_which_reads_them():
    found = specs(suggest(["Land"], {"Land": ["Deutschland", "Österreich", "DE", "Schweiz"]}))
    assert found["address.0.country"] == {"column": "Land", "transform": ["country_code"]}


def test_null_markers_seen_in_mapped_columns_become_null_values():
    draft = suggest(["Email", "Phone"], {"Email": ["a@x.example", "null", "b@x.example"],
                                         "Phone": ["null", "N/A", "555-0100 123"]})  # fmt: skip
    assert draft.settings["null_values"].spec == ["n/a", "null"]


# --- drafts -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("First Name", "First Name"), ("E-mail 1 - Value", "E-mail 1 - Value"),
        ("* Home", '"* Home"'), ("yes", '"yes"'), ("Straße", "Straße"), ("Ünal", '"Ünal"'),
        ("a: b", '"a: b"'), ("\n", '"\\n"'), (["A", "B"], "[A, B]"), (None, "~"),
        ({"column": "X", "map": {"M": "male"}}, "{column: X, map: {M: male}}"),
        ("Assistant's Phone", "Assistant's Phone"), ("Country / Region", "Country / Region"),
    ],
)  # fmt: skip
def test_flow_style_reads_back_as_the_same_text(value, text):
    assert flow(value) == text
    assert parse(f"customer:\n  background: {text}\n").fields["background"].spec == value


def test_a_draft_reads_back_with_its_comments():
    text = emit(Draft(
        notes=["top"],
        fields={"firstName": Field({"column": "First"}, ["why"])},
        entries={"emails": [Field({"column": "Mail", "type": "work"}, ["because"])]},
        leftovers={"plan": Field({"column": "Plan", "type": "text"})},
        key="email",
    ))  # fmt: skip
    again = parse(text)
    assert again.notes[0] == "top"
    assert again.fields["firstName"] == Field({"column": "First"}, ["why"])
    assert again.entries["emails"] == [Field({"column": "Mail", "type": "work"}, ["because"])]
    assert again.key == "email" and emit(again).startswith("# top\ncustomer:\n  # why\n")


def test_trim_keeps_what_the_columns_can_feed():
    draft = parse(
        "customer:\n"
        "  firstName: {column: [First, Display]}\n"
        "  lastName: Last\n"
        "  emails:\n"
        "    - {column: Mail, type: {column: Mail Type, map: {Home: home}, default: other}}\n"
        "    - {column: Mail 2, type: other}\n"
        "  address:\n"
        "    - {lines: [A1, A2], country: C1, on_incomplete: drop}\n"
        "    - {lines: [B1], country: C2, on_incomplete: drop}\n"
    )
    kept = trim(draft, ["Display", "Mail", "A2", "C1"])
    assert specs(kept) == {
        "firstName": {"column": "Display"},
        "emails.0": {"column": "Mail", "type": "other"},
        "address.0.lines": ["A2"],
        "address.0.country": "C1",
        "address.0.on_incomplete": "drop",
    }


# --- presets ----------------------------------------------------------------------------------
PRESETS = sorted(presets())


def test_the_systems_the_issue_names_have_presets():
    for name in ("shopify-customers", "hubspot-contacts", "salesforce-contacts", "zendesk-users",
                 "freshdesk-contacts", "intercom-users", "mailchimp-audience", "stripe-customers",
                 "woocommerce-customers", "zoho-crm-contacts", "zoho-books-contacts",
                 "pipedrive-people", "google-contacts", "outlook-contacts", "thunderbird-contacts",
                 "helpscout-customers"):  # fmt: skip
        assert name in PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_reads_only_columns_of_its_header_and_cites_its_source(name):
    preset = presets()[name]
    draft = preset.draft()
    assert draft.columns() <= set(preset.header) | preset.optional
    assert any("Written from" in line for line in draft.notes)
    assert draft.entries.get("emails") and draft.key == "email"


@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_recognises_its_own_header_and_no_other(name):
    preset = presets()[name]
    required = [c for c in preset.header if c not in preset.optional]
    match = recognise(required)
    assert match is not None and match.preset.name == name
    assert (match.present, match.expected) == (len(required), len(required))
    for other in presets().values():
        if other.name != name:
            assert fingerprint(required, other).share < 1.0


def test_a_file_missing_a_column_still_is_recognised_and_says_how_many():
    preset = presets()["shopify-customers"]
    columns = [c for c in preset.header if c != "Tags"]
    match = recognise(columns)
    assert match is not None
    assert match.describe() == "looks like a Shopify customers export (19 of 20 columns)"


@pytest.mark.parametrize(
    "columns",
    [
        ["First Name", "Last Name", "Email", "Phone", "Company", "City", "State", "Country"],
        ["Vorname", "Nachname", "E-Mail", "Telefon", "Firma", "Straße", "PLZ", "Ort", "Land"],
        [f"col{i}" for i in range(1, 10)],
    ],
)
def test_generic_headers_fit_no_preset(columns):
    assert recognise(columns) is None
    assert all(fingerprint(columns, p).share < MIN_SHARE for p in presets().values())


@pytest.mark.parametrize("name", PRESETS)
def test_a_trimmed_preset_keeps_the_fields_of_the_columns_present(name):
    preset = presets()[name]
    required = [c for c in preset.header if c not in preset.optional]
    suggestion = suggest_mapping(required, preset_name=name, source="export.csv")
    assert suggestion.match is not None and suggestion.match.preset.name == name
    assert suggestion.draft.columns() <= set(required)
    assert suggestion.text.startswith(f"# export.csv {suggestion.match.describe()}")


def test_entry_types_in_presets_are_help_scout_types():
    allowed = {"emails": schema.EMAIL_TYPES, "phones": schema.PHONE_TYPES,
               "socialProfiles": schema.SOCIAL_TYPES, "chats": schema.CHAT_TYPES}  # fmt: skip
    for preset in presets().values():
        for name, items in preset.draft().entries.items():
            for item in items:
                kind = item.spec.get("type")
                kinds = [kind] if isinstance(kind, str) else []
                if isinstance(kind, dict):
                    kinds = [*kind["map"].values(), kind["default"]]
                assert set(kinds) <= set(allowed.get(name, ())), (preset.name, item.spec)


# --- the suggestion as a mapping file -------------------------------------------------------------
SAMPLE = ROOT / "sample_data" / "customers.csv"
HEADER_SETS = [
    ["First Name", "Last Name", "Email", "Personal Email", "Phone", "Mobile", "Company", "Title",
     "Street", "Street 2", "City", "State", "Zip", "Country", "Website", "Plan", "Signed Up",
     "Seats", "Notes", "Sex"],
    ["Index", "Customer Id", "First Name", "Last Name", "Company", "City", "Country", "Phone 1",
     "Phone 2", "Email", "Subscription Date", "Website"],
    ["Full Name", "E-mail Address", "Emails", "Cell Phone", "Fax", "organisation", "JobTitle",
     "Address Line 1", "Address Line 2", "Postal Code", "Province", "Homepage", "twitter",
     "Skype ID", "gender", "Yes", "a: b", "Plan #", "Plan #", "Member since", "Notes"],
    ["foo", "Bar"],
    ["name", "Name"],
    [f"col{i}" for i in range(1, 10)],
]  # fmt: skip


def load_text(tmp_path: Path, text: str) -> Mapping:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


@pytest.mark.parametrize("columns", HEADER_SETS)
def test_a_suggestion_loads_and_binds(tmp_path, columns):
    mapping = load_text(tmp_path, suggest_mapping(columns).text)
    mapping.bind(columns)
    assert mapping.sources


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_as_a_mapping_whole_and_trimmed(tmp_path, name):
    preset = presets()[name]
    load_text(tmp_path, preset.text).bind([*preset.header, *preset.optional])
    required = [c for c in preset.header if c not in preset.optional]
    load_text(tmp_path, suggest_mapping(required, preset_name=name).text).bind(required)


def test_the_sample_file_is_mapped_by_words_and_values(tmp_path):
    suggestion = suggest_file(SAMPLE)
    assert suggestion.match is None
    mapping = load_text(tmp_path, suggestion.text)
    assert mapping.sources == {
        "firstName": "First Name", "lastName": "Last Name", "organization": "Company",
        "jobTitle": "Title", "background": "Notes", "gender": "Sex",
        "emails.0.value": "Email", "emails.0.type": "", "emails.1.value": "Personal Email",
        "emails.1.type": "", "phones.0.value": "Phone", "phones.0.type": "",
        "phones.1.value": "Mobile", "phones.1.type": "", "websites.0.value": "Website",
        "address.lines.0": "Street", "address.lines.1": "Street 2", "address.city": "City",
        "address.state": "State", "address.postalCode": "Zip", "address.country": "Country",
    }  # fmt: skip
    assert mapping.key == "email"
    # the values told the date format: offered, commented out, as a date property
    assert '#   signed-up: {column: Signed Up, type: date, format: "%d/%m/%Y"}' in suggestion.text


def test_unrecognised_columns_are_listed_as_commented_properties():
    text = suggest_mapping(["Email", "Plan", "Signed Up On", "Yes"]).text
    assert "  # properties:\n" in text
    assert "  #   plan: {column: Plan, type: text}\n" in text
    assert '  #   signed-up-on: {column: Signed Up On, type: date, format: "%Y-%m-%d"}' in text
    assert '  #   "yes": {column: "Yes", type: text}\n' in text
    assert text.endswith("key: email\n")


def test_a_file_with_nothing_recognised_still_loads():
    text = suggest_mapping(["foo", "Bar"]).text
    assert "\n  properties:\n    foo: {column: foo, type: text}\n" in text


@pytest.mark.parametrize(
    ("header", "path", "kind"),
    [
        ("Given Name", "firstName", None), ("surname", "lastName", None),
        ("EmailAddress", "emails.0.value", "work"), ("Home Email", "emails.0.value", "home"),
        ("Mobile Phone", "phones.0.value", "mobile"), ("Telephone", "phones.0.value", "work"),
        ("Fax Number", "phones.0.value", "fax"), ("Organization Name", "organization", None),
        ("Job Title", "jobTitle", None), ("Street Address", "address.lines.0", None),
        ("Zip Code", "address.postalCode", None), ("Country Code", "address.country", None),
        ("URL", "websites.0.value", None), ("LinkedIn", "socialProfiles.0.value", "linkedin"),
        ("Comments", "background", None), ("Avatar URL", "photoUrl", None),
        ("Business Phone", "phones.0.value", "work"), ("Home Fax", "phones.0.value", "fax"),
        ("E-mail 2 Address", "emails.0.value", "other"), ("Skype ID", "chats.0.value", "skype"),
    ],
)  # fmt: skip
def test_header_spellings_feed_their_field_with_its_type(tmp_path, header, path, kind):
    mapping = load_text(tmp_path, suggest_mapping([header]).text)
    assert mapping.sources[path] == header
    if kind:
        frame = pd.DataFrame({header: pd.array(["v"], dtype=TEXT)}, index=pd.RangeIndex(1, 2))
        mapped, _ = mapping.apply(frame)
        type_path = path.rsplit(".", 1)[0] + ".type"
        assert [None if pd.isna(v) else v for v in mapped[type_path]] == [kind]


# --- the init command ---------------------------------------------------------------------------
def test_init_lists_the_presets(invoke):
    result = invoke("init", "--list-presets")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(presets())
    assert "shopify-customers            Shopify customers (20 columns)" in lines


def test_init_says_which_export_it_recognised(invoke, tmp_path):
    export = tmp_path / "customers_export.csv"
    header = [c for c in presets()["shopify-customers"].header if c != "Tags"]
    export.write_text(",".join(header) + "\n" + ",".join(["x"] * len(header)) + "\n")
    result = invoke("init", export)
    assert result.exit_code == 0
    assert result.stderr == (
        f"{export} looks like a Shopify customers export (19 of 20 columns): "
        "the shopify-customers preset, trimmed to its columns.\n"
    )
    assert result.stdout.startswith("# customers_export.csv looks like a Shopify customers export")


def test_init_uses_the_preset_it_is_told(invoke, tmp_path):
    out = tmp_path / "m.yaml"
    result = invoke("init", SAMPLE, "--preset", "helpscout-customers", "-o", out)
    assert result.exit_code == 0
    assert result.stdout == (
        f"Mapping written to {out}: check it, then run "
        f"helpscout-import validate {SAMPLE} -m {out}\n"
    )
    assert "looks like a Help Scout customers export (10 of 16 columns)" in result.stderr
    assert load_mapping(out).sources["organization"] == "Company"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", SAMPLE, "--preset", "shopfy"], "Error: no preset called 'shopfy': choose one of"),
        (["init"], "Error: Missing argument 'FILE' (or give --list-presets)."),
    ],
)
def test_init_refuses_what_it_cannot_do_with_exit_2(invoke, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_recognised_export_gets_null_values_for_the_markers_its_cells_hold():
    header = list(presets()["hubspot-contacts"].header)
    sample = {c: ["x", "y", "z"] for c in header} | {
        "Phone Number": ["null", "+1 555 0100 11", "null"]
    }
    suggestion = suggest_mapping(header, sample)
    assert suggestion.match is not None
    assert suggestion.draft.settings["null_values"].spec == ["null"]
    assert "null (2 cells)" in suggestion.text


def test_columns_a_preset_does_not_know_are_judged_too(tmp_path):
    header = list(presets()["shopify-customers"].header)
    extra = {"Full Name": [f"Ana Ortega{i}" for i in range(12)], "Surname": DATES,
             "Account Owner Email": ["owner@ourcompany.example"] * 12,
             "Phone Number": [str(5550100 + i) for i in range(12)]}  # fmt: skip
    suggestion = suggest_mapping([*header, *extra], extra)
    assert suggestion.match is not None
    mapping = load_text(tmp_path, suggestion.text)  # no name: beside the preset's names
    read = set(mapping.sources.values())
    assert read & set(extra) == set()
    assert [h.path for h in suggestion.draft.review] == ["phones"]
    assert "Not mapped: Surname:" in "\n".join(suggestion.summary())
    assert "#   phone-number:" not in suggestion.text  # held for review, not also a property


def test_a_column_of_display_name_emails_sends_the_addresses():
    sample = {
        "Name": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"],
        "Email": ["Ada Lovelace <ada@example.com>", '"Turing, Alan" <alan@example.com>',
                  "grace@example.com", "mailto:edsger@example.org"],
    }  # fmt: skip
    (email,) = suggest_mapping(["Name", "Email"], sample).draft.entries["emails"]
    assert email.spec["transform"] == ["email_address"]
    assert "some values are 'Name <address>' or mailto: links: the address is sent" in email.notes


def test_a_numbered_emails_column_holds_one_email_and_a_bare_one_several():
    values = ["ada@example.com", "alan@example.com", "grace@example.com"]
    listed = suggest_mapping(["emails.1"], {"emails.1": values}).draft  # a JSON list's first
    bare = suggest_mapping(["Emails"], {"Emails": values}).draft
    assert "separator" not in listed.entries["emails"][0].spec
    assert bare.entries["emails"][0].spec["separator"] == ";"


def test_a_json_list_s_type_beside_its_value_types_the_entry():
    sample = {
        "phones.1.number": ["+44 7700 900123", "+1 202 555 0100", "+49 30 1234567"],
        "phones.1.type": ["mobile", "work", "home"],
    }
    (phone,) = suggest_mapping(list(sample), sample).draft.entries["phones"]
    assert phone.spec["type"]["column"] == "phones.1.type"


def test_with_no_name_column_the_names_written_before_the_addresses_are_the_names():
    emails = ["Ada Lovelace <ada@example.com>", '"Turing, Alan" <alan@example.com>',
              "Grace Hopper <grace@example.com>"]  # fmt: skip
    alone = suggest_mapping(["Email"], {"Email": emails}).draft
    assert alone.fields["name"].spec == {"column": "Email", "transform": ["display_name"]}
    named = suggest_mapping(["Name", "Email"], {"Name": ["Ada", "Alan", "Grace"],
                                               "Email": emails}).draft  # fmt: skip
    assert named.fields["name"].spec == "Name"


def test_a_chat_s_type_column_types_it():
    sample = {
        "Email": ["ada@example.com", "bo@example.com", "cy@example.com"],
        "IM Address 1": ["ada.l", "bo_s", "cy99"],
        "IM Address 1 Type": ["skype", "Skype", "aim"],
    }
    (chat,) = suggest_mapping(list(sample), sample).draft.entries["chats"]
    assert chat.spec["type"]["column"] == "IM Address 1 Type"
    assert chat.spec["type"]["map"]["aim"] == "aim" and chat.spec["type"]["default"] == "other"


def test_linkedin_pages_of_companies_are_not_the_person_s_profile():
    sample = {
        "Email": ["ana@example.com", "bo@example.com", "cy@example.com"],
        "LinkedIn": ["https://www.linkedin.com/company/acme-example",
                     "https://www.linkedin.com/company/globex-example",
                     "https://linkedin.com/school/example-university"],
        "Profile": ["https://www.linkedin.com/in/ana-example", "https://www.linkedin.com/in/bo",
                    "https://www.linkedin.com/in/cy"],
    }  # fmt: skip
    draft = suggest_mapping(list(sample), sample).draft
    assert [e.spec["column"] for e in draft.entries["socialProfiles"]] == ["Profile"]
