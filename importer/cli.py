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
@click.option(
    "--show", type=int, default=0, metavar="N", help="Print the first N payloads as sent."
)
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
    click.echo(
        f"Mapping written to {output}: check it, then run "
        f"helpscout-import validate {file} -m {output}"
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=0, show_default=True, help="Port (0: any free port).")
@click.option(
    "--rate-limit",
    type=int,
    default=0,
    metavar="N",
    help="The account's budget in requests per minute (writes count 2); 0: none.",
)
@click.option("--latency-ms", type=float, default=0.0, metavar="MS", help="Delay per request.")
@click.option("--jitter-ms", type=float, default=0.0, metavar="MS", help="Random +/- on the delay.")
@click.option(
    "--fail-rate",
    type=float,
    default=0.0,
    metavar="P",
    help="Probability of a 500/503 before doing anything.",
)
@click.option(
    "--drop-rate",
    type=float,
    default=0.0,
    metavar="P",
    help="Probability of dropping the connection after doing the work.",
)
@click.option(
    "--timeout-rate",
    type=float,
    default=0.0,
    metavar="P",
    help="Probability of a 504 after doing the work.",
)
@click.option(
    "--token-ttl",
    type=float,
    default=172800.0,
    show_default=True,
    metavar="S",
    help="Seconds an access token lives.",
)
@click.option(
    "--duplicate-email",
    type=click.Choice(["allow", "conflict"]),
    default="allow",
    show_default=True,
    help="Create a second customer with a known email, or answer 409.",
)
@click.option(
    "--retry-after-header",
    is_flag=True,
    help="Send a standard Retry-After beside X-RateLimit-Retry-After on 429.",
)
@click.option(
    "--properties",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON or YAML file of customer property definitions.",
)
@click.option("--seed", type=int, help="Seed for reproducible faults.")
@friendly_errors
def sandbox(
    host: str,
    port: int,
    rate_limit: int,
    latency_ms: float,
    jitter_ms: float,
    fail_rate: float,
    drop_rate: float,
    timeout_rate: float,
    token_ttl: float,
    duplicate_email: str,
    retry_after_header: bool,
    properties: Path | None,
    seed: int | None,
) -> None:
    """Serve a local Help Scout API to rehearse an import; Ctrl-C stops it.

    The first three lines printed are the environment to paste into the shell that runs the import.
    """
    from importer.sandbox import SandboxConfig, load_properties, serve

    extra = {"properties": load_properties(properties)} if properties else {}
    config = SandboxConfig(
        rate_limit=rate_limit or None,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        fail_rate=fail_rate,
        drop_rate=drop_rate,
        gateway_timeout_rate=timeout_rate,
        token_ttl=token_ttl,
        duplicate_email=duplicate_email,
        retry_after_header=retry_after_header,
        seed=seed,
        **extra,
    )

    def ready(url: str) -> None:
        click.echo(f"export HELPSCOUT_API_URL={url}")
        click.echo(f"export HELPSCOUT_APP_ID={config.app_id}")
        click.echo(f"export HELPSCOUT_APP_SECRET={config.app_secret}")
        click.echo(f"# Help Scout sandbox listening on {url} (Ctrl-C to stop)", err=True)

    serve(config, host=host, port=port, on_ready=ready)
