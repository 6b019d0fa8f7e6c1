"""One review: FILE, the mapping being edited, and the answers the page asks for.

Everything here is the real pipeline: FILE is opened by the reader (:func:`open_source`), the
mapping starts from ``-m`` or from ``init``'s engine (:func:`~importer.suggest.suggest_mapping`),
each edit is written as YAML (:func:`~importer.suggest.draft.emit`, ``init``'s comments kept)
and checked by the mapping loader, and the preview and "Check all rows" run the validator.
Only FILE is read and only the output mapping is written.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from importer.check.validate import Validator, check_rows, file_warnings
from importer.core.errors import ConfigError, MappingError
from importer.core.files import check_outputs
from importer.core.options import DEFAULT_READ, ReadOptions
from importer.mapping import TRANSFORMS, load_mapping
from importer.mapping.reader import mapping_from_text
from importer.outputs.report import HtmlReport, Summary
from importer.read import Chunk, Source, open_source
from importer.review.model import TARGETS, Choice, build, choices_of, offered
from importer.review.profile import VALUE_CHARS, profile
from importer.suggest import SAMPLE_ROWS, presets, recognise, suggest_mapping
from importer.suggest.draft import Draft, emit, parse

__all__ = ["PREVIEW_ROWS", "Review"]

#: Rows the column profiles are read from.
PROFILE_ROWS = 1000
#: Rows the live preview maps and checks; the first :data:`PAYLOADS_SHOWN` are shown.
PREVIEW_ROWS = 200
PAYLOADS_SHOWN = 10
#: Invalid rows of the preview listed with what is wrong.
INVALID_SHOWN = 20
_ISSUE_KEYS = ["column", "field", "rule", "severity", "message", "value"]


def first_rows(source: Source, count: int) -> Chunk:
    """The first ``count`` data rows as one chunk (ragged ones among them included)."""
    chunks = iter(source)
    chunk = next(chunks, None)
    chunks.close()  # type: ignore[attr-defined]  # a generator: the file closes now
    if chunk is None:
        return Chunk(pd.DataFrame(columns=source.columns), [])
    frame = chunk.frame.head(count)
    last = int(frame.index[-1]) if len(frame) else 0
    return Chunk(frame, [r for r in chunk.ragged if r.row <= last],
                 [r for r in chunk.short if r.row <= last],
                 [s for s in chunk.stray if s.row <= last],
                 [u for u in chunk.undecodable if u.row <= last])  # fmt: skip


def confidence(choice: Choice) -> str:
    """How sure the suggestion is: init's own ``confidence:`` note, else from its evidence
    (``low`` when it says to check)."""
    for note in choice.notes:
        if note.startswith("confidence: "):
            return note.removeprefix("confidence: ").split()[0]
    if any("check" in note.lower() for note in choice.notes):
        return "low"
    return "high" if choice.notes and choice.kind != "none" else ""


def needs_review(choice: Choice) -> bool:
    """``init`` left it for a person: offered commented out, or its evidence says to check."""
    return confidence(choice) == "low" or (choice.kind == "none" and bool(choice.notes))


def _issues_by_row(issues: pd.DataFrame) -> dict[int, list[dict[str, str]]]:
    """Row -> its issues as the page lists them (the validator's rule codes and messages)."""
    out: dict[int, list[dict[str, str]]] = {}
    for row, *values in issues[["row", *_ISSUE_KEYS]].itertuples(index=False):
        texts = ["" if pd.isna(v) else str(v)[:VALUE_CHARS] for v in values]
        out.setdefault(int(row), []).append(dict(zip(_ISSUE_KEYS, texts, strict=True)))
    return out


class Review:
    """FILE and the mapping being reviewed; the page's questions as methods returning JSON."""

    def __init__(self, file: Path, output: Path, mapping: Path | None = None,
                 options: ReadOptions = DEFAULT_READ) -> None:  # fmt: skip
        check_outputs([("FILE", file)], [("-o", output)])
        self.file, self.output, self.mapping = file, output, mapping
        self.reopen(options)

    def reopen(self, options: ReadOptions, preset: str | None = None) -> None:
        """Read FILE (again) with ``options``; start from ``preset``, else ``-m``, else the
        suggestion."""
        source = open_source(self.file, options)
        sample = source.sample(PROFILE_ROWS)
        self.system = recognise(source.columns)
        if self.mapping is not None and preset is None:
            load_mapping(self.mapping).bind(source.columns)
            self.base = parse(self.mapping.read_text(encoding="utf-8-sig"))
            self.started = f"the mapping {self.mapping}"
        else:
            cells = {c: sample[c].head(SAMPLE_ROWS).tolist() for c in source.columns}
            suggestion = suggest_mapping(source.columns, cells, preset_name=preset,
                                         source=self.file.name)  # fmt: skip
            self.base, self.system = suggestion.draft, suggestion.match
            self.started = "init's suggestion"
        self.source, self.options = source, options
        self.profiles = profile(sample)
        self.preview_rows = first_rows(source, PREVIEW_ROWS)

    # --- what the page shows first ---
    def state(self) -> dict[str, Any]:
        columns = self.source.columns
        chosen = choices_of(self.base, columns)
        shown = []
        for column in self.profiles:
            choice = chosen[column.name]
            guess = offered(self.base, column.name)
            shown.append({
                "name": column.name, "position": column.position, "filled": column.filled,
                "rows": column.rows, "values": column.values, "choice": choice.as_json(),
                "evidence": choice.notes, "confidence": confidence(choice),
                "review": needs_review(choice), "offered": guess.as_json() if guess else None,
            })  # fmt: skip
        shown.sort(key=lambda c: not c["review"])
        return {
            "file": self.file.name,
            "output": str(self.output),
            "output_exists": self.output.exists(),
            "started": self.started,
            "source": {
                "encoding": self.source.encoding,
                "delimiter": self.source.delimiter,
                "skip_lines": getattr(self.source, "skip_lines", 0),
                "sheet": getattr(self.source, "sheet", ""),  # a CSV has none
                "system": self.system.describe() if self.system else "no preset fits",
                "preset": self.system.preset.name if self.system else "",
                "presets": sorted(presets()),
                "warnings": self.source.warnings,
            },
            "targets": {**TARGETS, "transforms": sorted(TRANSFORMS)},
            "columns": shown,
            "yaml": emit(self.base),
        }

    def change_source(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Read FILE again with the encoding, delimiter, sheet or preset the page gives."""

        def given(key: str) -> str | None:
            return str(data[key]) if data.get(key) not in (None, "") else None

        read = replace(self.options, encoding=given("encoding"), delimiter=given("delimiter"),
                       sheet=given("sheet"))  # fmt: skip
        self.reopen(read, given("preset"))
        return self.state()

    # --- what each edit gives ---
    def draft(self, data: Mapping[str, Any]) -> Draft:
        """The mapping with the page's choices (``{"choices": {column: choice}}``)."""
        chosen = data.get("choices") or {}
        if not isinstance(chosen, Mapping):
            raise ValueError("choices is an object: column -> choice")
        unknown = [c for c in chosen if c not in self.source.columns]
        if unknown:
            raise ValueError(f"not a column of {self.file.name}: {unknown[0]}")
        return build(self.base, self.source.columns,
                     {c: Choice.from_json(v) for c, v in chosen.items()})  # fmt: skip

    def checked(self, data: Mapping[str, Any]) -> tuple[str, Any]:
        """The YAML text of the edits, and the mapping the loader makes of it (bound to FILE)."""
        text = emit(self.draft(data))
        mapping = mapping_from_text(text, str(self.output))
        mapping.bind(self.source.columns)
        return text, mapping

    def preview(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The first rows' payloads as Help Scout would get them, and what is wrong with them."""
        try:
            text, mapping = self.checked(data)
        except MappingError as error:
            return {"yaml": emit(self.draft(data)), "error": str(error)}
        checked = Validator(mapping).check(self.preview_rows)
        shown = checked.rows[:PAYLOADS_SHOWN]
        payloads = dict(
            mapping.payloads(checked.mapped.loc[shown.intersection(checked.mapped.index)])
        )
        listed = _issues_by_row(checked.issues)
        rows = [{"row": row, "payload": payloads.get(row), "valid": row not in checked.invalid,
                 "issues": listed.get(row, [])} for row in shown.tolist()]  # fmt: skip
        invalid = [{"row": row, "issues": listed.get(row, [])}
                   for row in checked.invalid[:INVALID_SHOWN].tolist()]  # fmt: skip
        return {"yaml": text, "error": None, "rows": rows, "invalid_rows": invalid,
                "checked": len(checked.rows), "invalid": len(checked.invalid)}  # fmt: skip

    def check_all(
        self, data: Mapping[str, Any], progress: Callable[[int], object] | None = None
    ) -> dict[str, Any]:
        """Every row checked, chunk by chunk (``progress`` hears the rows checked so far), and
        grouped as the HTML validation report groups them (its body, which escapes every cell)."""
        try:
            _, mapping = self.checked(data)
        except MappingError as error:
            return {"error": str(error)}
        summary = Summary(file=str(self.file), mapping=f"{self.output} (as on the page)",
                          encoding=self.source.encoding, delimiter=self.source.delimiter,
                          notes=[*self.source.warnings,
                                 *file_warnings(mapping, self.source.sample())])  # fmt: skip
        report = HtmlReport(self.output, key_name=mapping.key_name, file=io.StringIO())
        for _, checked in check_rows(self.source.select(mapping.columns), mapping):
            summary.rows += len(checked.rows)
            summary.invalid += len(checked.invalid)
            summary.add(checked.issues)
            report.add(checked)
            if progress:
                progress(summary.rows)
        summary.valid = summary.rows - summary.invalid
        return {"error": None, "html": "".join(report.body(summary)), "rows": summary.rows,
                "valid": summary.valid, "invalid": summary.invalid}  # fmt: skip

    def save(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Write the mapping; an existing file only when the page says ``overwrite``."""
        try:
            text, _ = self.checked(data)
        except MappingError as error:
            return {"saved": False, "error": str(error)}
        if self.output.exists() and data.get("overwrite") is not True:
            return {"saved": False, "exists": True,
                    "message": f"{self.output} exists already: Overwrite replaces it"}  # fmt: skip
        try:
            self.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {self.output}: {exc.strerror or exc}") from None
        return {"saved": True, "message": f"Saved {self.output}: helpscout-import validate "
                f"{self.file} -m {self.output} reads it as it is"}  # fmt: skip
