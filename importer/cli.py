"""The ``helpscout-import`` command: a thin skin over the library.

Each command parses its options, calls one library function and turns the outcome into output and
an exit code. Every :class:`~importer.errors.ImporterError` ends as one line on stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from importer import __version__
from importer.errors import EXIT_OK, EXIT_ROWS_FAILED, ImporterError
from importer.pipeline import validate_csv

READABLE_FILE = click.Path(exists=False, dir_okay=True, path_type=Path)


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors into one line and the exit code they carry."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ImporterError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def progress_bar(unit: str) -> tqdm:
    """A bar on stderr when it is a terminal; a silent stand-in otherwise (cron, pipes, tests)."""
    return tqdm(unit=f" {unit}", unit_scale=True, file=sys.stderr, disable=not sys.stderr.isatty())


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads a CSV shares."""
    command = click.option(
        "--delimiter",
        help="Field delimiter, when sniffing guesses wrong (use '\\t' for TAB).",
    )(command)
    command = click.option(
        "--encoding", help="Text encoding of the CSV (default: detected; e.g. cp1252, latin-1)."
    )(command)
    command = click.option(
        "-m",
        "--mapping",
        "mapping",
        required=True,
        type=READABLE_FILE,
        help="YAML file that maps CSV columns to customer fields (see mappings/).",
    )(command)
    return click.argument("file", type=READABLE_FILE)(command)


def unescape_delimiter(delimiter: str | None) -> str | None:
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter) if delimiter else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="helpscout-import")
def main() -> None:
    """Bulk-create Help Scout customers from CSV files."""


@main.command()
@input_options
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every issue to this file; the suffix picks the format: .csv, .json or .html.",
)
@click.option("--show", type=int, default=0, metavar="N", help="Print the first N payloads as sent.")
@friendly_errors
def validate(
    file: Path,
    mapping: Path,
    encoding: str | None,
    delimiter: str | None,
    report: Path | None,
    show: int,
) -> None:
    """Check every row of FILE against the mapping and Help Scout's rules; send nothing.

    Exits 0 when no row has an error, 1 when some do, 2 when the file or mapping is unusable.
    """
    with progress_bar("rows") as bar:
        result = validate_csv(
            file,
            mapping,
            report=report,
            encoding=encoding,
            delimiter=unescape_delimiter(delimiter),
            show=show,
            progress=bar.update,
        )
    for note in result.summary.notes:
        click.echo(f"Warning: {note}", err=True)
    for row, payload in result.samples:
        click.echo(f"row {row}: {json.dumps(payload, ensure_ascii=False)}")
    if result.first_issues is not None and not report:
        for issue in result.first_issues.itertuples():
            where = f"row {issue.row}" + (f", {issue.column}" if issue.column else "")
            value = f" {issue.value!r}" if isinstance(issue.value, str) else ""
            click.echo(f"{where}: {issue.severity}: {issue.rule}:{value} {issue.message}")
        more = result.summary.errors + result.summary.warnings - len(result.first_issues)
        if more > 0:
            click.echo(f"... and {more:,} more: add --report issues.html to see them all")
    click.echo(result.summary.line())
    if report:
        click.echo(f"Report written to {report}")
    sys.exit(EXIT_OK if result.ok else EXIT_ROWS_FAILED)


@main.command()
@click.argument("file", type=READABLE_FILE)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the suggested mapping here instead of printing it.",
)
@click.option("--encoding", help="Text encoding of the CSV (default: detected).")
@click.option("--delimiter", help="Field delimiter (default: sniffed).")
@friendly_errors
def init(file: Path, output: Path | None, encoding: str | None, delimiter: str | None) -> None:
    """Suggest a mapping from FILE's headers; edit it, then run validate."""
    from importer.mapping import suggest_mapping
    from importer.source import open_csv

    source = open_csv(file, encoding=encoding, delimiter=unescape_delimiter(delimiter))
    text = suggest_mapping(source.columns)
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists():
        raise click.UsageError(f"{output} exists already: choose another name or remove it")
    output.write_text(text, encoding="utf-8")
    click.echo(f"Mapping written to {output}: check it, then run "
               f"helpscout-import validate {file} -m {output}")
