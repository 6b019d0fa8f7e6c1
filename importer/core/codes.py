"""The rule codes reports carry in their ``rule`` column: named once, on the ground floor, so the
mapping (which checks cells as it reads them) and the validator write the same words. The values
never change: scripts match on them. What each rule checks and says: :mod:`importer.check.rules`.
"""

from __future__ import annotations

MIN_LENGTH = "min_length"  #: an empty name
MAX_LENGTH = "max_length"  #: a value over Help Scout's length limit
ENUM = "enum"  #: a value outside an enumeration (gender, photoType, an entry's type)
EMAIL = "email"  #: not a well-formed email address
URL = "url"  #: not a web address
PHONE = "phone"  #: a spreadsheet-mangled or impossible phone number
PHONE_NO_DIGIT = "phone_no_digit"  #: a phone without a digit (sent as written)
PHONE_EMPTY = "phone_empty"  #: an empty phone (the API's answer; the validator never sends one)
COUNTRY = "country"  #: not an ISO 3166-1 alpha-2 code
NUMBER = "number"  #: a number property that is no 64-bit integer
BOOL = "bool"  #: a yes/no property that is neither
DATE = "date"  #: a date property that is no date
DROPDOWN = "dropdown"  #: a dropdown property's value outside its options
COUNTRY_REQUIRED = "country_required"  #: an address without a country
RAGGED_ROW = "ragged_row"  #: more cells than the header has names
SHORT_ROW = "short_row"  #: fewer cells than the header has names
UNNAMED_COLUMN = "unnamed_column"  #: a value under a header without a name
NOT_UTF8 = "not_utf8"  #: a line that is not UTF-8 in a UTF-8 file
EMPTY_ROW = "empty_row"  #: every mapped cell empty
NO_IDENTITY = "no_identity"  #: neither a name nor an email
DUPLICATE_KEY = "duplicate_key"  #: the same key as an earlier row
ADDRESS_DROPPED = "address_dropped"  #: an address without a country left out (on_incomplete)

#: How the rule of a warning ends when its value was left out of the customer sent
#: (``on_invalid: drop`` turns ``phone`` into ``phone_dropped``; ``address_dropped``).
DROPPED = "_dropped"
