"""Mapping files: which CSV column fills which Help Scout customer field, and how it is cleaned.

A mapping is a YAML file (the format is DESIGN.md's; this module accepts all of it)::

    customer:
      firstName: First Name                       # a bare string is a column name
      jobTitle: {column: Title, transform: [title]}
      gender: {column: Sex, map: {M: male, F: female}, default: unknown}
      photoType: {value: unknown}                 # a constant
      emails:                                     # list fields: one entry per column
        - {column: Email, type: work}
        - {column: Other Emails, type: other, separator: ";"}   # several values in one cell
      address:
        lines: [Street, Street 2]
        country: {column: Country, transform: [country_code]}
      properties:                                 # slug: column, or {column, type, format}
        signup-date: {column: Signed Up, type: date, format: "%d/%m/%Y"}
    key: email

For real exports (issue 9) a mapping can also say::

    null_values: ["null", "N/A", "-"]             # cells that mean "absent", for every field
    customer:
      firstName: {column: [First Name, Display Name]}   # the first non-empty cell wins
      lastName: {column: Last Name, null_values: [unknown]}   # added to the list above
      jobTitle: {column: Job Title, replace: {"^(Mr|Ms|Dr)\\.? +": ""}}  # pattern: text
      emails:
        - column: E-mail 1 - Value
          type: {column: E-mail 1 - Type, map: {"* Home": home, "* Work": work}, default: other}
      address:                                    # one group, or a list tried in order
        - {lines: [Ship 1, Ship 2], city: Ship City, country: Ship Country, on_incomplete: drop}
        - {lines: {column: Billing Address, separator: "\n"}, country: Billing Country}

* ``null_values`` (top level, and per field, added to it): cells equal to one of them after
  the strip, in any case, are absent; ``default`` then takes their place.
* ``column: [A, B, ...]``: per row, the first column whose cell is not absent (after
  ``null_values``). Every column of the list must be in the file. With ``join: " "``, the
  present cells of the list are joined with that text instead (Pipedrive's house number and
  street into one line: ``{column: [House number, Street], join: " "}``).
* ``replace: {pattern: text}``: RE2 regular expressions (checked when the file is loaded; no
  look-ahead), each replaced by its text in the order written (``\\1`` is the first group);
  a cell left empty is absent.
* An entry's ``type`` is a constant, or ``{column, map, default}``: the type read from another
  column of the row (stripped, in any case), through ``map``; a value that is a type of the list
  is taken as it is, any other (or none) takes ``default`` (else the list's own default type):
  never an error. ``map`` and ``default`` must name types of the list.
* ``address`` is one group or a list of groups. A group is *complete* when it has a country;
  per row the first complete group is sent. When none is, the first group that has any value
  decides by its ``on_incomplete``: ``error`` (the default, as before: the row is invalid,
  "an address needs a country") or ``drop`` (the customer is sent without the address, with an
  ``address_dropped`` warning on the row).
* ``on_invalid: drop`` (on a field, an entry, a property, an address group or part, or at the top
  level as every field's default; ``error`` is the default): a value that breaks a rule is left
  out and the customer is sent without it, the error becoming a warning whose rule ends in
  ``_dropped``; an address goes whole, as with ``on_incomplete``.
* ``phone_region: DE`` (top level) and ``region: US`` (on ``phone`` and ``phones`` entries): where
  national phone numbers are read when the row has no country (:mod:`importer.customer.phones`).
* ``separator: "\n"`` (or ``"\r\n"``, ``"\r"``) cuts at every line break, CRLF, CR or LF
  alike: a one-cell postal address (Outlook's ``Business Address``, Google's ``Address 1 -
  Formatted``) becomes ``lines``; empty pieces are dropped.

What happens to a cell, in order:

1. It is stripped of surrounding white space (``strip`` is always on), and loses the apostrophe
   this tool's own CSV files put before a value starting with = + - @ (so a results file can be
   fixed and fed back) and the text apostrophe a spreadsheet or an exporter puts before a digit
   or + (``'02134``, ``'+44 20...``; counted in the summary); an empty cell is absent, and so is
   one of ``null_values``; with a list of columns, the first non-absent one is taken; then
   ``default`` (if any) takes its place as if it had been written there; then ``replace``.
2. With ``separator``, the cell is cut into several values, each stripped; empty pieces add
   nothing.
3. ``map`` replaces values found among its keys (compared case-insensitively); others pass as
   written.
   A key mapped to nothing (``map: {"-": ~}``) makes that value absent.
4. ``transform`` steps run in the order given:

   ``strip``, ``lower``, ``upper``, ``title``, ``collapse_spaces`` (runs of white space to one
   space);
   ``country_code``: a country name, alpha-2 or alpha-3 code to the ISO 3166-1 alpha-2 code
   ("Germany", "deu", "Côte d'Ivoire", "Korea, Republic of" and former ISO names such as "Swaziland"
   all resolve, and names in the languages pycountry ships: "Deutschland", "Royaume-Uni"); a name
   shared by two countries ("Korea", "Congo") or one ISO 3166-3 withdrew ("Netherlands Antilles",
   "Burma") is left as written with an issue that says what to write;
   ``date``: the text read with ``format`` (a strptime format, or a list tried in order) and
   written as YYYY-MM-DD; a value that does not match is left as written with an issue;
   ``split_name``: a full-name column parsed by nameparser into ``firstName`` and ``lastName``
   (:mod:`~importer.customer.names`: titles, suffixes, particles, "Last, First"). The field it is
   on says which part it takes::

       firstName: {column: Full Name, transform: [split_name]}
       lastName: {column: Full Name, transform: [split_name]}

   ``name: Full Name`` (or ``name: {column: Full Name, transform: [title]}``) is short for that
   pair.

   ``e164`` (phones): a number written ``+4930123456``, read in the row's country or region.

A ``date`` property runs ``date`` last, with its ``format`` (YYYY-MM-DD when none is given).
``map`` results, ``value`` and ``default`` of enum fields (gender, photoType) are checked when the
file is loaded and kept in canonical lower case. Every YAML scalar is read as the text written
(``NO`` stays "NO", ``01234`` stays "01234"): YAML 1.1's booleans and octal numbers never apply.

``key`` says what identifies a row across runs: ``email`` (the default) is the first email the row
has, lower-cased; otherwise a field path (``properties.customer-id``, ``phone``) or the name of a
column the mapping reads (the first field filled from it). An email key is compared lower-cased.

A key given twice at the same level is refused (YAML would silently keep the last one). Every
value is checked for its shape (a list where text is due, a mapping where a list is due, an
empty ``format: []``...) with one line naming its YAML line; a plain number where a column name
is due is refused (quote it, ``"2024"``, if a column is named so). A mapping file is a regular
UTF-8 file of at most 1 MB whose YAML nests at most 32 levels.

Extensions to DESIGN.md's core: ``separator``; ``format`` as a list; ``date`` as a transform on any
field; ``map`` to nothing; the ``name`` shorthand; a constant ``value`` on entries and properties;
a bare string as a property means a text property; ``lines`` and list fields take a single item;
and the options above (``null_values``, column lists, ``replace``, ``type`` from a column,
address groups, ``on_incomplete``, line-break separators); ``on_invalid``, ``phone_region``,
``region``, ``e164``.

Speed: every step is a pandas or pyarrow operation over a whole column; ``map``,
``country_code``, ``date``, ``split_name`` and ``e164`` do their Python work once per distinct
value of the chunk.

The package, by seam: :mod:`~importer.mapping.model` (the compiled mapping),
:mod:`~importer.mapping.reader` (the YAML checked, line by line), :mod:`~importer.mapping.apply`
and :mod:`~importer.mapping.columns` (a chunk mapped in whole columns),
:mod:`~importer.mapping.transforms`, :mod:`~importer.customer.countries`,
:mod:`~importer.customer.names` and :mod:`~importer.mapping.payloads` (mapped columns to JSON
bodies).
"""

from importer.customer.countries import country_of, resolve_country
from importer.customer.values import COMMON_DATE_FORMATS
from importer.mapping.model import Mapping
from importer.mapping.reader import load_mapping
from importer.mapping.spec import Property, Target, Value
from importer.mapping.transforms import TRANSFORMS, guess_date_formats

__all__ = [
    "COMMON_DATE_FORMATS",
    "TRANSFORMS",
    "Mapping",
    "Property",
    "Target",
    "Value",
    "country_of",
    "guess_date_formats",
    "load_mapping",
    "resolve_country",
]
