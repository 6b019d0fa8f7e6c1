"""``helpscout-import review``: one local page to see every column, fix the mapping by pointing,
and save it.

:mod:`~importer.review.session` is the core (FILE read by the reader, the mapping by ``init``'s
engine and the loader, the preview by the validator), :mod:`~importer.review.model` the mapping
as one choice per column, :mod:`~importer.review.profile` the columns' fill rates and values,
and :mod:`~importer.review.server` the aiohttp app: bound to 127.0.0.1, every request carrying
the random token of the URL, the page (``static/``) self-contained under a strict CSP.
"""

from importer.review.session import Review

__all__ = ["Review"]
