"""What a header's words say: the field a column feeds, its entry type, and which address.

A header is read as words, never as a whole string: ``Billing City``, ``Address 1 - City`` and
``Ort (geschäftlich)`` all name a city; the other words only say which address or, for emails and
phones, which type. A qualifier never blocks a match. Words are folded first (:func:`words`):
accents dropped, camelCase and digits split, ``e-mail`` joined, German and Dutch compounds cut at a
known ending (``Mobiltelefon`` -> ``mobil telefon``). Then every phrase of :data:`PHRASES` found
votes for a kind and the highest priority wins: words naming another person (``Assistant's
Phone``) beat everything, an email the address it sits in, a postal code its address, a job title
its company. The vocabulary covers English, German, French, Spanish, Italian, Dutch and
Portuguese. Pure functions of the header text: :func:`read_header` is tested as a table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from importer.customer import schema

__all__ = ["HeaderReading", "read_header", "words"]

# The kinds a header can name (``HeaderReading.kind``): ignore, label, email, phone, chat, social,
# photoUrl, website, postalCode, country, state, city, formatted, street, code, id, jobTitle,
# organization, title, firstName, lastName, fullName, displayName, gender, age, location,
# background, date. ``title`` is "Title": a job title or a Mr/Ms salutation, as the values say;
# ``code`` is Zoho's "Billing Code", a postal code only beside an address group word; ``label``
# is the type column beside an entry (Google's ``E-mail 1 - Type``); ``formatted`` a one-cell
# postal address; ``ignore`` a column known not to belong to the customer.


def _phrases(priority: int, kind: str, *texts: str) -> dict[tuple[str, ...], tuple[int, str]]:
    return {tuple(text.split()): (priority, kind) for text in texts}


#: Phrase (folded words) -> (priority, kind). A header takes the kind of its highest phrase.
PHRASES: dict[tuple[str, ...], tuple[int, str]] = {
    # Another person, or a column about the record rather than the customer.
    **_phrases(
        100, "ignore",
        "assistant", "asst", "assistent", "assistente", "manager", "spouse", "partner",
        "referred", "children", "child", "emergency", "attention", "yomi", "phonetic",
        "file as", "middle", "middle name", "additional name", "nick", "nickname", "short name",
        "user name", "username", "screen name", "prefix", "suffix", "salutation", "anrede",
        "civilite", "saludo", "tratamiento", "titolo", "department", "abteilung",
        "departement service", "departamento", "reparto", "afdeling", "job description",
        "office location",
        "ip", "optin", "confirm", "owner", "lifecycle", "lead", "source", "status", "mode",
        "gmtoff", "dstoff", "timezone", "time zone", "latitude", "longitude", "leid", "euid",
        "rating", "currency", "balance", "vat", "tax", "plan", "card last4", "brand", "funding",
        "fingerprint", "exp", "amount", "total", "orders", "spent", "spend", "aov",
        "count", "password", "language", "locale", "weitere vornamen", "deuxieme prenom",
        "segundo nombre", "secondo nome", "nome do meio", "tussenvoegsel", "accepts",
        "marketing", "opt", "opted", "subscribed", "unsubscribed", "unsub", "bounce", "bounced",
        "consent", "verified", "email display name", "symbol", "payment", "sources",
        # someone other than the customer: the account's owner, the host, an agent, a guest
        "buyer", "host", "user", "agent", "guest", "guests", "referrer", "referral", "owned",
        "assigned", "second contact", "third contact", "secondary contact", "other contact",
        "additional contact", "contact 2", "contact 3", "blacklisted", "blocklisted",
        # a child's, a parent's, a school's (a club's members board), the company's own
        "childs", "parent", "parents", "guardian", "mother", "father", "school",
        "contact type", "company address", "annual revenue", "revenue", "income", "salary",
        "employees", "headcount", "mrr", "arr", "ltv", "company linkedin", "company facebook",
        "company twitter",
        # what was sold, not who bought it (Gumroad's "Item Name", Etsy's "Coupon Details")
        "item", "items", "product", "products", "sku", "variant", "variants", "coupon",
        "coupons", "discount", "giftee", "gifter",
        # a link the system made for the record (a receipt, an invoice), not the customer's site
        "invoice url", "invoice link", "receipt url", "receipt link", "order url",
        "purchase url", "download url", "download link", "tracking url", "tracking link",
        "unsubscribe url", "unsubscribe link",
    ),
    **_phrases(90, "email", "email", "emails", "mail", "correo", "correo electronico", "courriel",
               "adresse electronique", "messagerie", "adresse de messagerie",
               "posta elettronica"),
    **_phrases(85, "phone", "phone", "phones", "telephone", "tel", "telefon", "telefono",
               "telefone", "telefoon", "fone", "mobile", "mobil", "mobiel", "cell", "cellular",
               "cellulare", "celular", "handy", "portable", "movil", "gsm", "fax", "telecopie",
               "direct line", "direct dial", "sms", "whatsapp", "landline", "festnetz",
               "telefax", "pager", "buscapersonas", "radiomessagerie", "cercapersone"),
    # the networks' names; "other", a type of both lists, names none ("Other Number")
    **_phrases(80, "social", *(set(schema.SOCIAL_TYPES) - {"other"}), "twitter id",
               "facebook id"),
    **_phrases(80, "chat", *(set(schema.CHAT_TYPES) - {"other"}), "skype identity", "skype id",
               "im address", "imaddress", "jabber"),
    **_phrases(76, "photoUrl", "photo", "avatar", "picture", "image", "foto", "photo url"),
    **_phrases(75, "website", "website", "websites", "web site", "web page", "webpage", "site",
               "homepage", "home page", "url", "web", "site web", "sitio web", "pagina web",
               "webseite", "internetseite", "sito web", "sito", "domain"),
    **_phrases(70, "postalCode", "zip", "zipcode", "zip code", "postal code", "postcode",
               "post code", "plz", "postleitzahl", "code postal", "codigo postal", "cp",
               "cap", "codice postale", "cep", "postnummer"),
    **_phrases(66, "country", "country region", "land region", "pays region"),
    **_phrases(65, "country", "country", "nation", "land", "pays", "pais", "paese", "nazione",
               "country code", "staat land"),
    **_phrases(60, "state", "state", "province", "region", "county", "bundesland", "kanton",
               "departement", "dep", "provincia", "estado", "regione", "provincie",
               "distrito", "state province", "province code"),
    **_phrases(55, "city", "city", "town", "locality", "ville", "ciudad", "stadt", "ort",
               "citta", "comune", "plaats", "woonplaats", "stad", "cidade", "localidade",
               "localidad", "municipio", "poblacion", "suburb", "city town"),
    **_phrases(52, "formatted", "formatted", "full address", "combined address",
               "full combined address", "formatted address"),
    # the bare word "address" loses to the company it is of ("Default Address Company")
    **_phrases(44, "street", "address", "adresse", "adres", "direccion", "indirizzo", "endereco"),
    **_phrases(50, "street", "street", "addr", "address line", "line", "street address",
               "postal address", "po box", "extended address", "strasse", "str", "anschrift",
               "rue", "calle", "via", "straat",
               "rua", "endereco", "morada", "road", "route", "house number", "hausnummer",
               "huisnummer", "numero", "street2", "street 2"),
    **_phrases(48, "code", "code"),
    **_phrases(47, "id", "id", "record id", "identifier", "external id", "unique external id",
               "number"),
    # a record's number, however phone-like its digits (Eventbrite's 11-digit "Order #")
    **_phrases(47, "id", *(f"{record} number" for record in (
        "order", "invoice", "ticket", "attendee", "booking", "reservation", "confirmation",
        "transaction", "receipt", "registration", "tracking", "serial", "customer", "account",
        "member", "membership", "reference", "case", "contract", "policy", "subscription",
        "barcode"))),
    **_phrases(46, "jobTitle", "job title", "job", "jobtitle", "position", "occupation",
               "function", "job function",
               "designation", "profession", "work title", "poste", "fonction", "cargo",
               "puesto", "berufsbezeichnung", "beruf", "funktion", "qualifica", "mansione",
               "ruolo", "functie", "functietitel", "profissao", "funcao", "job role",
               "organization title", "organisation title"),
    **_phrases(45, "organization", "company", "company name", "organization", "organisation",
               "organization name", "org", "employer", "account name", "firma", "firmen name",
               "firmenname", "unternehmen", "societe", "entreprise", "empresa", "organizacion",
               "compania", "azienda", "societa", "organizzazione", "bedrijf", "bedrijfs naam",
               "bedrijfsnaam", "organisatie", "organizacao", "companhia", "company organization",
               "business name", "work company"),
    **_phrases(40, "title", "title", "titre", "titel", "titulo"),
    **_phrases(33, "fullName", "full name", "nom complet", "nombre completo", "nome completo",
               "volledige naam", "vollstandiger name", "contact name", "customer name",
               "client name", "person name", "contact", "attendee", "participant"),
    **_phrases(33, "displayName", "display name", "anzeigename", "nom a afficher",
               "nombre en pantalla", "nome visualizzato", "mostrar nome", "weergavenaam"),
    # the name's part after the name (Close's "contact_name_first"), over "contact name"
    **_phrases(34, "firstName", "name first", "name given"),
    **_phrases(34, "lastName", "name last", "name family"),
    **_phrases(32, "firstName", "first name", "first", "firstname", "given name", "given",
               "forename", "fname", "vorname", "prenom", "nombre", "nome", "voornaam",
               "primeiro nome"),
    **_phrases(32, "lastName", "last name", "last", "lastname", "surname", "family name",
               "family", "lname", "nachname", "familienname", "nom", "nom de famille",
               "apellido", "apellidos", "cognome", "achternaam", "sobrenome", "ultimo nome"),
    **_phrases(30, "fullName", "name", "naam"),
    **_phrases(25, "gender", "gender", "sex", "geschlecht", "sexe", "genero", "sesso",
               "geslacht", "genere"),
    **_phrases(25, "age", "age", "alter", "edad", "eta", "leeftijd", "idade"),
    **_phrases(25, "location", "location"),
    **_phrases(20, "background", "notes", "note", "background", "background information",
               "comments", "comment", "description", "about", "bio", "info", "details",
               "notizen", "notiz", "bemerkung", "bemerkungen", "anmerkungen", "kommentar",
               "beschreibung", "remarques", "commentaires", "commentaire", "notas", "nota",
               "observaciones", "comentarios", "osservazioni", "opmerkingen", "notities",
               "observacoes", "informations", "informacoes", "remark", "remarks", "memo",
               "memos"),
    **_phrases(15, "date", "date", "datum", "fecha", "data", "birthday", "birth", "birthdate",
               "geburtstag", "anniversaire", "cumpleanos", "compleanno", "verjaardag",
               "aniversario", "anniversary", "created", "updated", "modified", "since",
               "signed up", "sign up", "registered", "last seen", "first seen", "last active",
               "time", "created at", "updated at"),
}  # fmt: skip

#: Words that say an entry's type; they never block a match.
ENTRY_TYPE_WORDS: dict[str, str] = {
    **dict.fromkeys(("mobile", "mobil", "mobiel", "cell", "cellular", "cellulare", "celular",
                     "handy", "portable", "movil", "gsm", "sms", "whatsapp"), "mobile"),
    **dict.fromkeys(("fax", "telecopie", "telefax"), "fax"),
    **dict.fromkeys(("pager", "buscapersonas", "radiomessagerie", "cercapersone", "beeper"),
                    "pager"),
    **dict.fromkeys(("home", "personal", "private", "privat", "privado", "priv", "domicile",
                     "casa", "particular", "thuis", "prive", "residencia", "pessoal",
                     "personnel", "perso", "personale"), "home"),
    **dict.fromkeys(("work", "business", "office", "professional", "professionnel", "pro",
                     "bureau", "geschaftlich", "dienstlich", "beruflich", "arbeit", "trabajo",
                     "lavoro", "ufficio", "werk", "zakelijk", "comercial", "trabalho",
                     "company", "main", "primary", "primaire", "principal", "principale"),
                    "work"),
    **dict.fromkeys(("other", "secondary", "alternate", "alternative", "additional", "weitere",
                     "weiteres", "weiterer", "andere", "autre", "otro", "otra", "altro",
                     "altra", "ander", "overig", "outro", "outra", "secondaire", "secundaria",
                     "secundario", "secondaria", "sekundare", "car", "callback", "isdn",
                     "radio", "telex", "tty", "tdd"), "other"),
}  # fmt: skip
#: Words that say which address a part belongs to; the value is the group's name.
ADDRESS_GROUP_WORDS: dict[str, str] = {
    **dict.fromkeys(("billing", "bill", "invoice", "rechnung", "rechnungs", "facturation",
                     "facturacion", "fatturazione", "factuur", "faturamento", "cobranca"),
                    "billing"),
    **dict.fromkeys(("shipping", "ship", "delivery", "lieferung", "liefer", "livraison",
                     "envio", "spedizione", "verzending", "entrega"), "shipping"),
    **dict.fromkeys(("mailing",), "mailing"),
    **dict.fromkeys(("card",), "card"),
    **dict.fromkeys(("home", "privat", "private", "domicile", "casa", "thuis", "residence",
                     "residencia", "prive"), "home"),
    **dict.fromkeys(("work", "business", "office", "geschaftlich", "dienstlich", "bureau",
                     "trabajo", "lavoro", "werk", "zakelijk", "comercial", "trabalho"), "work"),
    **dict.fromkeys(("other", "weitere", "weiteres", "weiterer", "autre", "otro", "otra",
                     "altro", "outro", "outra"), "other"),
}  # fmt: skip
ADDRESS_PARTS = ("street", "city", "state", "postalCode", "country", "formatted", "code")
#: Endings at which an unknown word is cut in two (German and Dutch compounds, run-together
#: English): longest first.
_ENDINGS = sorted(
    ("telefon", "telefoon", "nummer", "number", "adresse", "address", "adres", "name", "naam",
     "phone", "email", "mail", "code", "datum", "date", "strasse", "straat", "fax", "title",
     "city", "country", "state", "street", "zip", "url", "site", "page", "id", "land", "ort",
     "stadt"),
    key=len, reverse=True,
)  # fmt: skip
#: English words that end as a compound does but are none: "Support", "Report", "Short Name"
#: and "Passport" hold no "Ort" (a place), "Ethnicity" and "Capacity" no city.
_NOT_COMPOUNDS = {"ort": ("port", "fort", "hort", "cort", "resort"),
                  "city": ("icity", "acity", "ocity"), "land": ("island",)}  # fmt: skip
_MAX_PHRASE = max(len(phrase) for phrase in PHRASES)
#: "First" and "last" name a name alone or before a word of names ("Last", "First Name", "Last
#: (Family)", "Last, First"); before any other word they say which one of that ("Last Activity",
#: "Last Seen", "First Order Date"), a date or an event, never a name.
_ORDINALS = frozenset({("first",), ("last",)})
_NAME_WORDS = frozenset({"name", "names", "nm", "family", "given", "first", "last"})


@dataclass(frozen=True)
class HeaderReading:
    """What one header says. ``kind`` is None when no word is known.

    ``entry_type`` is the email/phone type its words name (None: not said); ``group`` the
    address it belongs to ("" when not said); ``number`` its ordinal (``E-mail 2``, ``Address
    1``); ``phrase`` the words that decided, for the evidence comment.
    """

    column: str
    kind: str | None
    entry_type: str | None = None
    group: str = ""
    number: int | None = None
    phrase: str = ""
    words: tuple[str, ...] = ()


def read_header(column: str) -> HeaderReading:
    """The field ``column`` names, by its words (see the module docstring)."""
    folded = words(column)
    found: dict[str, tuple[int, int, tuple[str, ...]]] = {}  # kind -> its best (priority, size)
    for start in range(len(folded)):
        for size in range(1, min(_MAX_PHRASE, len(folded) - start) + 1):
            phrase = folded[start : start + size]
            following = folded[start + size : start + size + 1]
            if phrase in _ORDINALS and following and following[0] not in _NAME_WORDS:
                continue
            if (hit := PHRASES.get(phrase)) and (hit[0], size) > found.get(hit[1], (0, 0, ()))[:2]:
                found[hit[1]] = (hit[0], size, phrase)
    numbers = [int(w) for w in folded if w.isdigit() and len(w) < 3]
    number = numbers[0] if numbers else None
    entry_type = next((ENTRY_TYPE_WORDS[w] for w in folded if w in ENTRY_TYPE_WORDS), None)
    if not found:
        return HeaderReading(column, None, entry_type, "", number, "", folded)
    # Higher priority first; on a tie the longer phrase ("postal code" over "postal").
    kind = max(found, key=lambda k: found[k][:2])
    phrase = found[kind][2]
    if kind == "organization" and set(found) - {
        "organization",
        "fullName",
        "displayName",
        "street",
    }:
        # "Organization 1 - Title" is the job title there; "- Location", "- Symbol" are not ours.
        kind = "jobTitle" if "title" in found else "ignore"
        phrase = found["title"][2] if kind == "jobTitle" else phrase
    named = [k for k in _PERSON_NAMES if k in found and found[k][2] not in _BARE_NAMES]
    if phrase in _ADDRESS_WORDS and named:
        # Chargebee's "billing_address[first_name]" is a name on the address, as "Billing First
        # Name" is, not a street line
        kind = max(named, key=lambda k: found[k][:2])
        phrase = found[kind][2]
    elif phrase in _ADDRESS_WORDS and "fullName" in found:
        # a bare "Address Name" (Shopify's default_address.name) is the addressee, or the
        # address's own label ("Home"): no street line either way, and no name of its own
        kind = "ignore"
    if kind in _TYPED and _LABEL_WORDS & set(folded):
        kind = "label"
    if kind == "phone":
        # The phone's own kind word (mobile, fax, pager) beats a place word: Home Fax is a fax.
        own = [ENTRY_TYPE_WORDS[w] for w in folded if ENTRY_TYPE_WORDS.get(w) in _OWN_PHONE]
        entry_type = own[0] if own else entry_type
    if kind not in ("email", "phone", "label"):
        entry_type = None
    group = next((ADDRESS_GROUP_WORDS[w] for w in folded if w in ADDRESS_GROUP_WORDS), "")
    if not group and number is not None and kind in (*ADDRESS_PARTS, "label"):
        # "Address 1 - City" is the first address's city; "Address1", "Address Line 2" and
        # "Street Address 2" (Square's), where nothing follows the number, are lines.
        at = folded.index(str(number))
        if at >= 1 and (folded[at - 1],) in _ADDRESS_WORDS and at + 1 < len(folded):
            group = str(number)
    return HeaderReading(column, kind, entry_type, group, number, " ".join(phrase), folded)


_TYPED = ("email", "phone", "website", "street", "formatted", "country", "chat", "social")
_LABEL_WORDS = {"type", "label", "typ", "etiquette", "etiqueta", "etichetta"}
_ADDRESS_WORDS = {("address",), ("adresse",), ("adres",), ("direccion",), ("indirizzo",),
                  ("endereco",)}  # fmt: skip
_OWN_PHONE = ("mobile", "fax", "pager")
_PERSON_NAMES = ("firstName", "lastName", "fullName")
_BARE_NAMES = {("name",), ("naam",)}


@cache
def words(text: str) -> tuple[str, ...]:
    """``text`` as folded words: lower case, no accents, camelCase and digits apart."""
    text = unicodedata.normalize("NFKC", text).replace("ß", "ss").replace("ẞ", "ss")
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", " ", text)
    text = "".join(
        c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
    )
    text = re.sub(r"\be[\s\-_.]*mail", "email", text)
    # "Order #", "Ticket No.", "Kunden-Nr.": the sign and the abbreviations say number
    text = re.sub(r"#|\b(?:no|nr|nbr)\.", " number ", text)
    for split, joined in _BRANDS:  # "LinkedIn", "YouTube" came apart as camelCase
        text = re.sub(split, joined, text)
    out: list[str] = []
    for word in re.findall(r"[a-z0-9]+", text):
        out.extend(_cut(word))
    return tuple(out)


_BRANDS = (
    (r"\blinked in\b", "linkedin"),
    (r"\byou tube\b", "youtube"),
    (r"\bface book\b", "facebook"),
    (r"\babout me\b", "aboutme"),
    (r"\bgoogle plus\b", "googleplus"),
    (r"\bwhats app\b", "whatsapp"),
)


def _cut(word: str) -> list[str]:
    """A compound cut at a known ending when the whole word is unknown (``mobiltelefon``)."""
    if (word,) in PHRASES or word in ENTRY_TYPE_WORDS or word in ADDRESS_GROUP_WORDS:
        return [word]
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            if word.endswith(_NOT_COMPOUNDS.get(ending, ())):
                continue
            return [*_cut(word[: -len(ending)]), ending]
    return [word]
