"""Mapping files: which CSV column fills which Help Scout customer field, and how it is cleaned.

:func:`load_mapping` reads a YAML mapping and checks it alone (a ``MappingError`` naming the YAML
line); ``Mapping.bind(columns)`` checks it against the file's header before any row is read; then,
per chunk, ``apply`` maps it in whole columns (transforms applied, issues for what they could not
do), ``payloads`` builds the JSON bodies and ``key_of`` the row keys. The format (fields, lists,
address groups, options of a value, transforms, the key) is the README's "Mapping reference"; what
happens to a cell, in order, is docs/internals.md#reading-quirks.

The package, by seam: :mod:`~importer.mapping.model` (the compiled mapping),
:mod:`~importer.mapping.reader` (the YAML checked, line by line), :mod:`~importer.mapping.apply`
and :mod:`~importer.mapping.columns` (a chunk mapped in whole columns),
:mod:`~importer.mapping.transforms`, and :mod:`~importer.mapping.payloads` (mapped columns to JSON
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
