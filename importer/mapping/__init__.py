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

What happens to a cell, in order:

1. It is stripped of surrounding white space (``strip`` is always on), and loses the apostrophe
   this tool's own CSV files put before a value starting with = + - @ (so a results file can be
   fixed and fed back); an empty cell is absent, then ``default`` (if any) takes its place as if
   it had been written there.
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
   all resolve); a name shared by two countries ("Korea", "Congo") or one ISO 3166-3 withdrew
   ("Netherlands Antilles", "Burma") is left as written with an issue that says what to write;
   ``date``: the text read with ``format`` (a strptime format, or a list tried in order) and
   written as YYYY-MM-DD; a value that does not match is left as written with an issue;
   ``split_name``: a full-name column cut into its first word (``firstName``) and the rest
   (``lastName``); "Last, First" is understood too. The field it is on says which part it takes::

       firstName: {column: Full Name, transform: [split_name]}
       lastName: {column: Full Name, transform: [split_name]}

   ``name: Full Name`` (or ``name: {column: Full Name, transform: [title]}``) is short for that
   pair.

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
a bare string as a property means a text property; ``lines`` and list fields take a single item.

Speed: every step is a pandas or pyarrow operation over a whole column; ``map``,
``country_code`` and ``date`` do their Python work once per distinct value of the chunk.

The package, by seam: :mod:`~importer.mapping.model` (the compiled mapping),
:mod:`~importer.mapping.reader` (the YAML checked, line by line), :mod:`~importer.mapping.apply`
and :mod:`~importer.mapping.columns` (a chunk mapped in whole columns),
:mod:`~importer.mapping.transforms`, :mod:`~importer.mapping.countries` and
:mod:`~importer.mapping.payloads` (mapped columns to JSON bodies).
"""

from importer.mapping._suggest_legacy import suggest_mapping
from importer.mapping.countries import resolve_country
from importer.mapping.model import Mapping, Property, Target, Value
from importer.mapping.reader import load_mapping
from importer.mapping.transforms import COMMON_DATE_FORMATS, TRANSFORMS, guess_date_formats

__all__ = [
    "COMMON_DATE_FORMATS",
    "TRANSFORMS",
    "Mapping",
    "Property",
    "Target",
    "Value",
    "guess_date_formats",
    "load_mapping",
    "resolve_country",
    "suggest_mapping",
]
