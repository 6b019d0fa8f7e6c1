"""The ``helpscout-import`` command: a thin skin over the library.

Each command parses its options, calls one library function and turns the outcome into output and
an exit code. Every :class:`~importer.core.errors.ImporterError` ends as one line on stderr.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, get_args

import click
import pyarrow as pa
from tqdm import tqdm

from importer import __version__
from importer.core.errors import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    EXIT_STOPPED,
    ConfigError,
    ImporterError,
    NotConfirmed,
)
from importer.core.options import (
    DEFAULT_API_URL,
    DEFAULT_IMPORT,
    DEFAULT_VALIDATE,
    MAX_CONCURRENCY,
    Duplicates,
    ImportOptions,
    OnExisting,
    SendOptions,
    UndoOptions,
    ValidateOptions,
)
from importer.core.redact import redact
from importer.core.text import for_terminal, issue_line, plural
from importer.jobs.front import import_csv, validate_csv
from importer.read import Guessed, count_rows
from importer.sandbox.config import DuplicateEmail, RateWindow, SandboxConfig
from importer.send.results import CHANGED_HINT, IMPORT_STATUSES, cannot_write

if TYPE_CHECKING:
    from importer.send.ledger import PastRun
    from importer.send.results import Outcome
    from importer.send.tally import ImportResult, Tally

# The HTTP side (aiohttp, the uploader) is imported by the commands that send, so that validate
# starts lighter: ~20 MB less at peak.

READABLE_FILE = click.Path(exists=False, dir_okay=True, path_type=Path)
#: The sandbox command's defaults: SandboxConfig's own (its server, aiohttp, loads on demand).
SANDBOX = SandboxConfig()


#: The errors of a write the system refused for want of room: disk full, quota, file size.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors into one line and the exit code they carry."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ImporterError as exc:
            click.echo(f"Error: {for_terminal(redact(str(exc)))}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            if exc.errno not in NO_ROOM:
                raise
            failure = cannot_write("an output", exc.filename or "", exc)
            click.echo(f"Error: {for_terminal(redact(str(failure)))}", err=True)
            sys.exit(failure.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted: stopped before the end.", err=True)
            sys.exit(EXIT_STOPPED)

    return wrapper


def progress_bar(unit: str, *, enabled: bool = True) -> tqdm:
    """A bar on stderr when it is a terminal; a silent stand-in otherwise (cron, pipes, tests,
    ``--quiet``)."""
    shown = enabled and sys.stderr.isatty()
    # rows are whole: no unit_scale, which writes 1 of 41 as 1.00/41.0
    return tqdm(unit=f" {unit}", file=sys.stderr, disable=not shown)


def skip_lines_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--skip-lines, and --sheet: where the table starts, in every command that reads FILE."""
    command = click.option(
        "--sheet",
        metavar="NAME|N",
        help="The sheet of a workbook (.xlsx, .xls, .ods) to read, by name or number from 1; "
        "default: the first sheet holding a table.",
    )(command)
    return click.option(
        "--skip-lines",
        type=click.IntRange(min=0),
        metavar="N",
        help="Lines before the header row (a title, an export date); default: detected.",
    )(command)


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads a CSV shares."""
    command = skip_lines_option(command)
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
        help="A mapping YAML file (CSV columns to customer fields): 'helpscout-import init FILE' "
        "writes a first one; mappings/example.yaml in the project shows the format.",
    )(command)
    return click.argument("file", type=READABLE_FILE)(command)


# Options of the commands that send (run, undo).
API_URL = click.option(
    "--api-url",
    envvar="HELPSCOUT_API_URL",
    show_envvar=True,
    help="Where the Help Scout API is (plain http only to this machine). Default: "
    "HELPSCOUT_API_URL of the credentials file, else " + DEFAULT_API_URL + ".",
)
RATE = click.option(
    "--rate",
    type=click.IntRange(min=1),
    metavar="N",
    help="The most to spend a minute (the plan's budget: Standard 200, Plus 400, Pro 800; a "
    "create costs 2); the importer still slows down for others under it. Default: "
    "--budget-share of the budget Help Scout reports.",
)
BUDGET_SHARE = click.option(
    "--budget-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=DEFAULT_IMPORT.budget_share,
    show_default=True,
    help="Without --rate, the share of the reported budget to use; the rest stays for agents "
    "and other integrations.",
)
HEADROOM = click.option(
    "--headroom",
    type=click.FloatRange(0, 1, max_open=True),
    default=DEFAULT_IMPORT.headroom,
    show_default=True,
    help="The share of the account's budget kept free for people's bursts: the importer slows "
    "down while others spend the rest, and speeds up when they stop.",
)
CONCURRENCY = click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=MAX_CONCURRENCY),
    metavar="N",
    help=f"Requests in flight at once, at most {MAX_CONCURRENCY} (default: enough to keep up "
    "with the rate).",
)
MAX_ATTEMPTS = click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=DEFAULT_IMPORT.max_attempts,
    show_default=True,
    help="Sends per row when Help Scout answers 5xx or the connection is lost.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="helpscout-import")
def main() -> None:
    """Bulk-create Help Scout customers from CSV files."""
    lean_arrow_memory()


def lean_arrow_memory() -> None:
    """Use jemalloc for pyarrow's buffers when it is built in.

    It hands the memory of finished chunks back to the system, where mimalloc (the default) keeps
    it: validating 1,000,000 rows peaks about 70 MB lower.
    """
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def rejects_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--rejects",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE.csv",
        help="Write the rows to fix here: their own columns, with their row number and what is "
        "wrong; fix them in a spreadsheet and give the file back with the same mapping.",
    )(command)


@main.command()
@input_options
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every issue to this file; the suffix picks the format: .csv, .json or .html.",
)
@rejects_option
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=DEFAULT_VALIDATE.show,
    metavar="N",
    help="Print the first N payloads as sent.",
)
@friendly_errors
def validate(
    file: Path,
    mapping: Path,
    encoding: str | None,
    delimiter: str | None,
    skip_lines: int | None,
    sheet: str | None,
    report: Path | None,
    rejects: Path | None,
    show: int,
) -> None:
    """Check every row of FILE against the mapping and Help Scout's rules; send nothing.

    Exits 0 when no row has an error, 1 when some do, 2 when the file or mapping is unusable.
    """
    with progress_bar("rows") as bar:
        options = ValidateOptions(encoding=encoding, delimiter=delimiter, skip_lines=skip_lines,
                                  sheet=sheet, report=report, rejects=rejects,
                                  show=show)  # fmt: skip
        result = validate_csv(file, mapping, options, progress=bar.update)
    for note in result.summary.notes:
        click.echo(f"Warning: {for_terminal(note)}", err=True)
    for row, payload in result.samples:
        click.echo(f"row {row}: {for_terminal(json.dumps(payload, ensure_ascii=False), None)}")
    if result.first_issues is not None:
        for issue in result.first_issues.to_dict("records"):
            click.echo(issue_line(issue))
        more = result.summary.errors + result.summary.warnings - len(result.first_issues)
        if more > 0:
            where = ": add --report issues.html to see them all"
            click.echo(f"... and {more:,} more" + (f" in {for_terminal(report, None)}" if report
                                                   else where))  # fmt: skip
    click.echo(result.summary.line())
    if report:
        click.echo(f"Report written to {for_terminal(report, None)}")
    if rejects:
        click.echo(rejects_line(result.summary.invalid, rejects))
    sys.exit(EXIT_OK if result.ok else EXIT_ROWS_FAILED)


def rejects_line(count: int, path: Path) -> str:
    return f"{plural(count, 'row')} to fix written to {for_terminal(path, None)}"


@main.command()
@click.argument("file", type=READABLE_FILE, required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the suggested mapping here instead of printing it.",
)
@click.option(
    "--preset",
    "preset_name",
    metavar="NAME",
    help="Use this preset instead of recognising the export (see --list-presets).",
)
@click.option("--list-presets", is_flag=True, help="List the presets, then stop.")
@click.option("--encoding", help="Text encoding of the CSV (default: detected).")
@click.option("--delimiter", help="Field delimiter (default: sniffed).")
@skip_lines_option
@friendly_errors
def init(
    file: Path | None,
    output: Path | None,
    preset_name: str | None,
    list_presets: bool,
    encoding: str | None,
    delimiter: str | None,
    skip_lines: int | None,
    sheet: str | None,
) -> None:
    """Suggest a mapping for FILE: recognise the export's source system, or map its columns by
    their header words and sampled values. Edit it, then run validate."""
    from importer.core.files import check_outputs
    from importer.suggest import presets, suggest_file

    if list_presets:
        width = max(len(name) for name in presets())
        for name, preset in presets().items():
            click.echo(f"{name:<{width}}  {preset.title} ({len(preset.header)} columns)")
        return
    if file is None:
        raise click.UsageError("Missing argument 'FILE' (or give --list-presets).")
    check_outputs([("FILE", file)], [("--output", output)])
    if output is not None and output.exists():
        raise click.UsageError(f"{output} exists already: choose another name or remove it")
    suggestion = suggest_file(
        file,
        preset_name=preset_name,
        encoding=encoding,
        delimiter=delimiter,
        skip_lines=skip_lines,
        sheet=sheet,
    )
    if output is None:
        click.echo(suggestion.text, nl=False)
    else:
        try:
            output.write_text(suggestion.text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
        click.echo(
            f"Mapping written to {output}: check it, then run "
            f"helpscout-import validate {file} -m {output}"
        )
    if suggestion.match is None:
        said = "no preset fits: suggested from its header words and the values of its first rows"
    else:
        said = (
            f"{suggestion.match.describe()}: the {suggestion.match.preset.name} preset, "
            "trimmed to its columns"
        )
    click.echo(f"{file} {said}.", err=True)
    for line in suggestion.summary():
        click.echo(line, err=True)


@main.command()
@click.argument("file", type=READABLE_FILE)
@click.option(
    "-m",
    "--mapping",
    type=READABLE_FILE,
    help="Start from this mapping (default: what init suggests).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where Save writes the mapping (an existing file only when the page says so).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free).")
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
@click.option("--encoding", help="Text encoding of the CSV (default: detected).")
@click.option("--delimiter", help="Field delimiter (default: sniffed).")
@skip_lines_option
@friendly_errors
def review(
    file: Path,
    mapping: Path | None,
    output: Path,
    port: int,
    no_browser: bool,
    encoding: str | None,
    delimiter: str | None,
    skip_lines: int | None,
    sheet: str | None,
) -> None:
    """Review the mapping of FILE on a local page: every column with its values, the payloads
    Help Scout will get, then Save. The first line printed is the page's URL; Done or Ctrl-C
    stops it."""
    import webbrowser

    from importer.review import Review, SourceOptions
    from importer.review.server import serve

    session = Review(file, output, mapping, SourceOptions(encoding, delimiter, skip_lines, sheet))

    def ready(url: str) -> None:
        click.echo(url)
        click.echo("# the review page (Done on the page, or Ctrl-C, stops it)", err=True)
        if not no_browser:
            webbrowser.open(url)

    serve(session, port=port, on_ready=ready)


@main.command()
@input_options
@click.option(
    "-o",
    "--output",
    "results",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one line per input row here (CSV); required unless --dry-run.",
)
@API_URL
@click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="Start the built-in sandbox in this process and import into it: nothing reaches "
    "Help Scout, no credentials needed.",
)
@click.option(
    "--properties",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --sandbox: the customer property definitions of the account being rehearsed "
    "(JSON or YAML, or a saved GET /v2/customer-properties answer).",
)
@RATE
@BUDGET_SHARE
@HEADROOM
@CONCURRENCY
@MAX_ATTEMPTS
@click.option(
    "--include-source",
    is_flag=True,
    help="Append each row's original columns to the results, so the rows that failed can be "
    "fixed and imported again with the same mapping.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The ledger (SQLite) that makes runs resumable and re-runs cheap; it belongs to one "
    "account. Default: beside the results, named after the mapping and the API host "
    "(mapping.api.helpscout.net.state.sqlite). Keep it on a local disk.",
)
@click.option(
    "--on-existing",
    type=click.Choice(get_args(OnExisting)),
    default=DEFAULT_IMPORT.on_existing,
    show_default=True,
    help="A row imported before whose data changed, or whose customer exists already: leave "
    "the customer as it is (skipped) or update it.",
)
@click.option(
    "--check-existing/--no-check-existing",
    default=None,
    help="Look up the emails of rows no earlier run imported, so customers created elsewhere "
    "are not created again (a look-up per 20 rows). Default: only on a first run into an "
    "account that holds customers already.",
)
@click.option(
    "--duplicates",
    type=click.Choice(get_args(Duplicates)),
    default=DEFAULT_IMPORT.duplicates,
    show_default=True,
    help="Rows with the same key (email): invalid after the first (error), import the first "
    "and skip the others (first), or import the last (last).",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Send again only the rows that failed last time; the others are skipped "
    "(reason not-retried).",
)
@click.option(
    "--retry-unknown",
    is_flag=True,
    help="Send again the rows whose create got no certain answer and that have no email to look "
    "them up by (status unknown): only after checking in Help Scout that they are not there.",
)
@click.option(
    "--max-invalid",
    metavar="N|N%",
    help="Exit 0 when at most N rows (or N% of them) are invalid and none failed: for nightly "
    "runs of a file with known bad rows.",
)
@click.option(
    "--settle-time",
    type=click.FloatRange(min=0),
    default=DEFAULT_IMPORT.settle_time,
    show_default=True,
    metavar="S",
    help="Seconds after a create that got no certain answer (504, a dropped connection, a kill) "
    "before a look-up that finds nobody is believed and the row is sent again: Help Scout's "
    "search may lag behind creates. Other rows go on meanwhile.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and print the plan (customers, requests, time at the budget); send nothing. "
    "With --check-existing: the plan against the account, row by row (create, update and "
    "what would change, skip), from reads only; -o writes it as 'planned' lines.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="RESULTS.html",
    help="Write a results report here: rows by outcome, failures by reason with their logRefs, "
    "the pace over time (one HTML page).",
)
@rejects_option
@click.option(
    "--summary-json",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Write what the run did here as JSON, however it ends: counts per status and reason, "
    "durations, requests, 429s, pace, exit code, the files written (schema in the README).",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Append one JSON line per HTTP request here: time, method, path, status, attempt, "
    "latency, logRef (never a token or a customer's data).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing but errors (on stderr): for cron, with --summary-json.",
)
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Do not ask before sending to a real Help Scout account (asked only when stdin is a "
    "terminal and the API is not this machine's).",
)
@click.pass_context
@friendly_errors
def run(
    ctx: click.Context,
    file: Path,
    mapping: Path,
    encoding: str | None,
    delimiter: str | None,
    skip_lines: int | None,
    sheet: str | None,
    results: Path | None,
    api_url: str | None,
    use_sandbox: bool,
    properties: Path | None,
    rate: int | None,
    budget_share: float,
    headroom: float,
    concurrency: int | None,
    max_attempts: int,
    include_source: bool,
    state: Path | None,
    on_existing: OnExisting,
    check_existing: bool | None,
    duplicates: Duplicates,
    retry_failed: bool,
    retry_unknown: bool,
    max_invalid: str | None,
    settle_time: float,
    dry_run: bool,
    report: Path | None,
    rejects: Path | None,
    summary_json: Path | None,
    log_file: Path | None,
    quiet: bool,
    yes: bool,
) -> None:
    """Import FILE: check every row, create a customer for each valid one, write the results.

    Credentials come from the environment only: HELPSCOUT_APP_ID and HELPSCOUT_APP_SECRET (Help
    Scout: Your Profile > My Apps), or HELPSCOUT_ACCESS_TOKEN; or from a file of NAME=value lines
    that HELPSCOUT_CREDENTIALS_FILE names.

    Every row is imported once, whatever happens: the state file records each row before it is
    sent. After a crash, Ctrl-C or reboot, the same command resumes; run again later, it sends only
    new and changed rows. Ctrl-C stops after the requests in flight (twice: at once).

    Exits 0 when every row ended well, 1 when some are invalid or failed (see the results), 2
    when nothing could be attempted (another run uses the state file, for one), 3 when the run
    stopped early (the same command resumes it).
    """
    from importer.jobs.importing import api_url_of

    options = ImportOptions(
        encoding=encoding,
        delimiter=delimiter,
        skip_lines=skip_lines,
        sheet=sheet,
        api_url=api_url,
        rate=rate,
        budget_share=budget_share,
        headroom=headroom,
        concurrency=concurrency,
        max_attempts=max_attempts,
        include_source=include_source,
        state=state,
        on_existing=on_existing,
        check_existing=check_existing,
        duplicates=duplicates,
        retry_failed=retry_failed,
        retry_unknown=retry_unknown,
        max_invalid=max_invalid,
        settle_time=settle_time,
        report=report,
        rejects=rejects,
        summary_json=summary_json,
        log_file=log_file,
    )
    if dry_run and (summary_json or log_file):
        raise click.UsageError(
            "--summary-json and --log-file describe an import that sends: not with --dry-run"
        )
    if dry_run and not check_existing:
        if not use_sandbox:
            api_url_of(api_url)
        print_plan(file, mapping, options)
        return
    if properties is not None and not use_sandbox:
        raise click.UsageError(
            "--properties describes the sandbox's account: it goes with --sandbox (a real "
            "account's properties are read from Help Scout)"
        )
    sandbox = None
    if use_sandbox:
        from importer.sandbox import DEFAULT_PROPERTIES, load_properties

        defined = load_properties(properties) if properties else DEFAULT_PROPERTIES
        sandbox = SandboxConfig(properties=defined)
    if dry_run:  # with --check-existing: the plan against the account
        print_account_plan(file, mapping, results, options, sandbox=sandbox)
    if results is None:
        raise click.UsageError("Missing option '-o' / '--output': the results file to write.")
    if sandbox is None and not yes and sys.stdin.isatty():
        confirm_real_account(file, mapping, results, options)
    say = Console(quiet)
    resume = f"To resume, run the same command:\n  {command_line(ctx)}"
    with progress_bar("rows", enabled=not quiet) as bar:
        bar.total = count_rows(file)

        def show(tally: Tally) -> None:
            bar.set_postfix_str(tally.postfix(), refresh=False)
            bar.update(tally.rows - bar.n)

        def notice(message: str) -> None:
            bar.clear()
            say.info(for_terminal(redact(message)))

        try:
            result = import_csv(
                file, mapping, results, options, sandbox=sandbox, progress=show, notice=notice
            )
        except KeyboardInterrupt:  # before any row was sent (reading the file)
            bar.close()
            say.error("Interrupted before sending anything.", f"\n{resume}")
            sys.exit(EXIT_STOPPED)
        bar.total = bar.n  # the total was counted from line breaks: an estimate
    for note in result.notes:  # a guessed encoding changes every cell: said even with -q
        (say.error if isinstance(note, Guessed) else say.info)(f"Warning: {for_terminal(note)}")
    if result.resumed:
        say.info(
            "Resumed an import that had stopped: the rows it finished are reported as they "
            "ended, not sent again."
        )
    if use_sandbox:
        say.info("Imported into the built-in sandbox: nothing was sent to Help Scout.")
    say.out(result.line())
    if changed := result.reasons.get("skipped", {}).get("changed"):
        say.info(f"{plural(changed, 'row')} changed since imported: {CHANGED_HINT}")
    say.out(f"Results written to {for_terminal(results, None)}")
    for written, what in ((result.report, "Report written"), (result.summary, "Summary written"),
                          (result.log, "Requests logged")):  # fmt: skip
        if written:
            say.out(f"{what} to {for_terminal(written, None)}")
    if result.rejects:
        say.out(rejects_line(result.rejected, result.rejects))
        if result.rejected and result.state:
            say.out(f"Once fixed, import them into the same state:\n  {fix_command(ctx, result)}")
    say.info(result.pacing_line())
    kept = for_terminal(f"{results} and {result.state}" if result.state else results, None)
    if result.interrupted:
        say.error(f"Interrupted: what finished is in {kept}.", f"\n{resume}" * bool(result.state))
    elif result.stopped:
        say.error(f"Error: {for_terminal(redact(result.stopped))}")
        say.info(f"Stopped early: what finished is in {kept}.")
        if result.state:
            say.info(resume)
    elif quiet and not result.ok:
        say.error(f"Error: {rows_not_imported(result)}: see {for_terminal(results, None)}")
    sys.exit(result.exit_code)


class Console:
    """What a command prints: ``out`` (stdout) and ``info`` (stderr) only when not ``quiet``;
    ``error`` always, on stderr (``more``: what follows it when not quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def out(self, text: str) -> None:
        if not self.quiet:
            click.echo(text)

    def info(self, text: str) -> None:
        if not self.quiet:
            click.echo(text, err=True)

    def error(self, text: str, more: str = "") -> None:
        click.echo(text if self.quiet else text + more, err=True)


def fix_command(ctx: click.Context, result: ImportResult) -> str:
    """The run that imports the fixed rejects as part of this import: the same mapping and
    destination, and this run's state named (the fix run's own results file would give it
    another default), so the next run of the export knows the people it created."""
    assert result.rejects is not None and result.state is not None
    fixed = result.rejects.with_suffix(".results.csv")
    words = [
        "helpscout-import",
        "run",
        str(result.rejects),
        "--mapping",
        str(ctx.params["mapping"]),
        "--output",
        str(fixed),
        "--state",
        str(result.state),
    ]
    if ctx.get_parameter_source("api_url") == click.core.ParameterSource.COMMANDLINE:
        words += ["--api-url", str(ctx.params["api_url"])]
    return for_terminal(shlex.join(words), None)


def rows_not_imported(result: ImportResult) -> str:
    """``11 rows not imported (9 invalid, 2 failed)``."""
    missed = result.invalid + result.failed + result.unknown + result.not_sent
    counts = f"{result.invalid:,} invalid, {result.failed:,} failed"
    more = (("unknown", result.unknown), ("not sent", result.not_sent))
    counts += "".join(f", {n:,} {name}" for name, n in more if n)
    return f"{plural(missed, 'row')} not imported ({counts})"


def confirm_real_account(file: Path, mapping: Path, results: Path, options: ImportOptions) -> None:
    """Ask once before a run sends to an account that is not this machine's (stdin a terminal)."""
    from urllib.parse import urlsplit

    from importer.jobs.front import open_input
    from importer.jobs.importing import api_url_of, count_plan, state_path_of
    from importer.send.auth import is_loopback

    api_url = api_url_of(options.api_url)
    host = urlsplit(api_url).hostname or ""
    if is_loopback(host):
        return
    state, _ = state_path_of(options.state, results, file, mapping, api_url)
    source, bound = open_input(file, mapping, options)
    planned = count_plan(source, bound, state, options)
    at_most = "up to " if options.check_existing else ""
    question = (
        f"Send to the Help Scout account at {host}: create {at_most}"
        f"{plural(planned.create, 'customer')} and update {planned.update:,} "
        f"(of {plural(planned.rows, 'row')})?"
    )
    if not click.confirm(for_terminal(question, None), default=False, err=True):
        raise NotConfirmed(
            "nothing was sent: the import was not confirmed (--yes skips the question)"
        )


def command_line(ctx: click.Context) -> str:
    """The command as the user gave it (only what came from the command line, never the
    environment, so no secret can appear), to print as the way to resume."""
    words = ["helpscout-import", ctx.info_name or "run"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if ctx.get_parameter_source(param.name or "") != click.core.ParameterSource.COMMANDLINE:
            continue
        if isinstance(param, click.Argument):
            words.append(str(value))
        elif isinstance(param, click.Option) and param.is_flag:
            words.append(param.opts[-1])
        elif isinstance(param, click.Option):
            words += [param.opts[-1], str(value)]
    return for_terminal(shlex.join(words), None)


def print_plan(file: Path, mapping: Path, options: ImportOptions) -> None:
    """--dry-run: what run would send, and how long that takes at the budget."""
    from importer.send.pacing import estimate_seconds

    with progress_bar("rows") as bar:
        reading = ValidateOptions(encoding=options.encoding, delimiter=options.delimiter,
                                  skip_lines=options.skip_lines,
                                  sheet=options.sheet)  # fmt: skip
        checked = validate_csv(file, mapping, reading, progress=bar.update)
    for note in checked.summary.notes:
        click.echo(f"Warning: {for_terminal(note)}", err=True)
    creates = checked.summary.valid
    click.echo(checked.summary.line())
    click.echo(
        f"Plan: create {creates:,} customers with {creates:,} requests "
        f"({creates * 2:,} of the per-minute budget: a create costs 2)."
    )
    echo_duration(lambda rate: estimate_seconds(creates, rate), options)
    click.echo("Nothing was sent (--dry-run).")
    sys.exit(EXIT_OK if checked.ok else EXIT_ROWS_FAILED)


def echo_duration(
    seconds_at: Callable[[float], float], options: SendOptions, limit: int | None = None
) -> None:
    """How long a plan's requests take (``seconds_at``: at a budget a minute): at ``--rate``, at
    the share of the ``limit`` Help Scout reported, else on each plan's budget. Alone on the
    account a run spends ``--budget-share`` of the budget, never the ``--headroom`` kept free."""
    from importer.send.pacing import PLAN_BUDGETS, duration

    share = min(options.budget_share, 1 - options.headroom)
    if options.rate is not None:
        at = f"a budget of {options.rate:,} a minute (--rate)"
        click.echo(f"At {at}: about {duration(seconds_at(options.rate))}.")
    elif limit:
        at = f"{share:.0%} of the account's budget of {limit:,} a minute"
        click.echo(f"At {at}: about {duration(seconds_at(share * limit))}.")
    else:
        times = ", ".join(
            f"{duration(seconds_at(budget * share))} on {name} ({budget}/min)"
            for name, budget in PLAN_BUDGETS.items()
        )
        click.echo(f"At {share:.0%} of the account's budget: about {times}.")


def print_account_plan(
    file: Path,
    mapping: Path,
    results: Path | None,
    options: ImportOptions,
    *,
    sandbox: SandboxConfig | None,
) -> NoReturn:
    """--dry-run --check-existing: the plan against the account, row by row; reads only."""
    from importer.jobs.plan import plan_import

    def notice(message: str) -> None:
        click.echo(for_terminal(redact(message)), err=True)

    plan = plan_import(file, mapping, results, options, sandbox=sandbox, notice=notice)
    for note in plan.notes:
        click.echo(f"Warning: {for_terminal(note)}", err=True)
    for line in plan.lines():
        click.echo(for_terminal(line, None))
    echo_duration(plan.seconds, options, plan.limit)
    if plan.results is not None:
        click.echo(f"Plan written to {for_terminal(plan.results, None)}")
    click.echo("Nothing was sent but reads (--dry-run): Help Scout and the state are unchanged.")
    sys.exit(plan.exit_code)


@main.command()
@click.option(
    "--state",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The state file of the import to undo (run's --state; by default beside its results, "
    "named after its mapping and API host: mapping.api.helpscout.net.state.sqlite).",
)
@click.option(
    "--run",
    "run_id",
    type=click.IntRange(min=1),
    metavar="ID",
    help="Undo the import this run belongs to (with the runs it resumed). Default: the newest "
    "import that created customers.",
)
@click.option(
    "-o",
    "--output",
    "results",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one line per customer here (CSV). Default: beside the state, named after it "
    "(export.undo.csv); in a dry run, none.",
)
@click.option(
    "--only-listed",
    "only",
    type=READABLE_FILE,
    metavar="RESULTS.csv",
    help="Undo only the customers this results file of the import lists as created (filter "
    "it to the rows to take back); customers the state does not record as created by the "
    "import are never touched.",
)
@API_URL
@RATE
@BUDGET_SHARE
@HEADROOM
@CONCURRENCY
@MAX_ATTEMPTS
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read each customer and its conversations and list what would be deleted or kept, "
    "and why; delete nothing, write nothing to the state.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting (cron, scripts).")
@click.pass_context
@friendly_errors
def undo(
    ctx: click.Context,
    state: Path,
    run_id: int | None,
    results: Path | None,
    only: Path | None,
    api_url: str | None,
    rate: int | None,
    budget_share: float,
    headroom: float,
    concurrency: int | None,
    max_attempts: int,
    dry_run: bool,
    yes: bool,
) -> None:
    """Delete the customers an import created: only those the state records as its own, and
    of them only the ones nobody has touched since.

    Each customer is read first and kept, never deleted, when it has a conversation, was
    edited after the import, or no longer holds what the import sent; the results say why.
    Help Scout's delete cannot be reversed: it removes the customer's conversations too. One
    confirmation names the host and the count (--yes skips it; without a terminal, --yes is
    required). Paced, retried and resumable as run: after Ctrl-C or a crash, the same command
    goes on where it stopped.

    Exits 0 when every customer was deleted or kept on purpose, 1 when some failed (see the
    results), 2 when nothing was attempted, 3 when the undo stopped early.
    """
    from importer.jobs.undo import UndoScope, undo_import

    options = UndoOptions(run=run_id, results=results, only=only, dry_run=dry_run,
                          api_url=api_url, rate=rate, budget_share=budget_share,
                          headroom=headroom, concurrency=concurrency,
                          max_attempts=max_attempts)  # fmt: skip

    def confirm(scope: UndoScope) -> bool:
        target = scope.target
        what = (
            f"{plural(scope.count, 'customer')} from {scope.host} that the import of "
            f"{target.label} ({target.started_at[:16].replace('T', ' ')} UTC) created"
        )
        if yes:
            return True
        if not sys.stdin.isatty():
            raise ConfigError(
                f"undo would delete up to {what}, and asks first: add --yes to confirm "
                "without a terminal"
            )
        return click.confirm(
            f"Delete up to {what}? Each is read first and kept if it has a conversation or "
            "was changed since. Help Scout's delete cannot be undone: it takes the customer's "
            "conversations along",
            default=False,
            err=True,
        )

    lines: dict[str, list[Outcome]] = {}

    def listen(outcome: Outcome) -> None:
        kind = outcome.reason if outcome.status == "planned" else outcome.status
        shown = lines.setdefault("delete" if kind in ("delete", "deleted") else kind, [])
        if len(shown) < SHOWN:
            shown.append(outcome)

    with progress_bar("customers") as bar:

        def show(tally: Tally) -> None:
            bar.set_postfix_str(tally.line(), refresh=False)
            bar.update(tally.rows - bar.n)

        def notice(message: str) -> None:
            bar.clear()
            click.echo(for_terminal(redact(message)), err=True)

        result = undo_import(state, options, confirm=confirm, progress=show, notice=notice,
                             on_line=listen)  # fmt: skip
    if result.resumed:
        click.echo("Resumed an undo that had stopped: the customers it deleted are reported "
                   "as deleted, not sent again.", err=True)  # fmt: skip
    target = result.target
    assert target is not None
    click.echo(
        f"Undo of the import of {target.label} ({target.started_at[:16].replace('T', ' ')} UTC, "
        f"{for_terminal(target.source, None)}): {plural(target.created, 'customer')} created."
    )
    for kind, outcomes in lines.items():
        if kind == "delete" and not dry_run:
            continue
        for outcome in outcomes:
            label = ("would delete" if kind == "delete" else
                     "would keep" if outcome.status == "planned" else outcome.status)  # fmt: skip
            because = f": {for_terminal(outcome.error)}" if outcome.error else ""
            click.echo(f"  {label} row {outcome.row} customer {outcome.customer_id}{because}")
    click.echo(result.line())
    if dry_run:
        from importer.send.pacing import READ_COST, WRITE_COST, budget_seconds

        deletes = result.planned
        cost = result.requests * READ_COST + deletes * WRITE_COST
        click.echo(
            f"The undo needs {plural(result.requests + deletes, 'request')}: "
            f"{result.requests:,} reads (the dry run's own, again) and {deletes:,} deletes "
            f"({cost:,} of the per-minute budget: a delete costs {WRITE_COST})."
        )
        echo_duration(lambda rate: budget_seconds(cost, rate), options, result.limit)
    if result.results is not None:
        click.echo(f"Results written to {for_terminal(result.results, None)}")
    click.echo(result.pacing_line(), err=True)
    if dry_run:
        click.echo("Nothing was deleted (--dry-run): only reads were sent.")
    if result.stopped:
        kept = for_terminal(f"{result.results} and {result.state}", None)
        if result.interrupted:
            click.echo(f"Interrupted: what finished is in {kept}.", err=True)
        else:
            click.echo(f"Error: {for_terminal(redact(result.stopped))}", err=True)
            click.echo(f"Stopped early: what finished is in {kept}.", err=True)
        click.echo(f"To resume, run the same command:\n  {command_line(ctx)}", err=True)
    sys.exit(result.exit_code)


#: Customers of each kind an undo lists on the console (all are in its results file).
SHOWN = 20


@main.command()
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The state file (default: every *.state.sqlite in this folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON, for scripts.")
@friendly_errors
def history(state: Path | None, as_json: bool) -> None:
    """List the imports a state file has seen, newest first: when each ran, where it sent, its
    input file and mapping, its rows by status and its exit code. Without --state, every state
    file in this folder, each with its destination. Reads the states only."""
    from importer.send.ledger import Ledger

    states = [state] if state else states_here()
    if state is not None and not state.is_file():
        raise ConfigError(f"no state file at {state}: give the --state a run used (or wrote)")
    listed: list[dict[str, Any]] = []
    for index, path in enumerate(states):
        with Ledger.open(path, source="", readonly=True) as ledger:
            runs, destination = ledger.history(), ledger.destination
        listed += [{**run_as_json(run), "state": str(path)} for run in runs]
        if as_json:
            continue
        shown = for_terminal(path, None)
        if len(states) > 1:
            to = f"imports into {destination}" if destination else "no destination recorded yet"
            click.echo(("\n" if index else "") + for_terminal(f"{path} ({to}):", None))
        if not runs:
            click.echo(f"No import has used {shown} yet.")
        for line in history_table(runs) if runs else ():
            click.echo(for_terminal(line, None))
    if as_json:
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))


def states_here() -> list[Path]:
    """The state files in the current folder (a ConfigError when there is none)."""
    found = sorted(Path().glob("*.state.sqlite"))
    if not found:
        raise ConfigError("no *.state.sqlite file in this folder: give one with --state FILE")
    return found


def _utc(stamp: str | None, *, iso: bool = False) -> str | None:
    """A ledger timestamp as ``2025-05-04 02:00:00`` (UTC), or ISO 8601 with a Z (``iso``)."""
    if stamp is None:
        return None
    from datetime import UTC, datetime

    from importer.core.text import utc_stamp

    moment = datetime.fromisoformat(stamp).astimezone(UTC)
    return utc_stamp(moment) if iso else moment.strftime("%Y-%m-%d %H:%M:%S")


def run_as_json(run: PastRun) -> dict[str, Any]:
    return {
        "run": run.id,
        "started": _utc(run.started_at, iso=True),
        "finished": _utc(run.finished_at, iso=True),
        "status": run.status,
        "resumed": run.resumed,
        "exit_code": run.exit_code,
        "file": run.source,
        "mapping": run.mapping,
        "results": run.results,
        "counts": run.counts,
        "destination": run.destination,
    }


def history_table(runs: list[PastRun]) -> list[str]:
    """The runs as an aligned table, numbers to the right; ``-`` where nothing was recorded."""
    header = ["run", "started (UTC)", "ended", "status", "exit", *IMPORT_STATUSES, "file",
              "mapping", "sent to"]  # fmt: skip
    rows = [header]
    for run in runs:
        counts = run.counts or {}
        status = f"{run.status}, resumed" if run.resumed else run.status
        rows.append([
            str(run.id), _utc(run.started_at) or "-", _utc(run.finished_at) or "-", status,
            "-" if run.exit_code is None else str(run.exit_code),
            *(f"{counts[name]:,}" if name in counts else "-" for name in IMPORT_STATUSES),
            run.source, run.mapping or "-", run.destination or "-",
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {0, 4, *range(5, 5 + len(IMPORT_STATUSES))}
    return [
        "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _burst(value: str | None) -> tuple[int, float] | None:
    """``--burst 12/5`` read as (12, 5.0); a usage error (exit 2) when unreadable."""
    from importer.sandbox import parse_burst

    try:
        return None if value is None else parse_burst(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port (0: any free port).",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    default=SANDBOX.rate_limit or 0,
    metavar="N",
    help="The account's budget in requests per minute (writes count 2); 0: none.",
)
@click.option(
    "--rate-window",
    type=click.Choice(get_args(RateWindow)),
    default=SANDBOX.rate_window,
    show_default=True,
    help="Budget back at each clock minute, or each request's cost back 60 s after it.",
)
@click.option(
    "--burst",
    callback=lambda _ctx, _param, value: _burst(value),
    metavar="N/S",
    help="Also at most N writes in any S seconds (Help Scout's older API: 12/5).",
)
@click.option(
    "--background-load",
    type=click.FloatRange(0, 1),
    default=SANDBOX.background_load,
    metavar="P",
    help="Share of the budget a simulated agent spends on reads (needs --rate-limit); "
    "POST /_sandbox/background-load changes it while running.",
)
@click.option(
    "--latency-ms", type=float, default=SANDBOX.latency_ms, metavar="MS", help="Delay per request."
)
@click.option(
    "--jitter-ms",
    type=float,
    default=SANDBOX.jitter_ms,
    metavar="MS",
    help="Random +/- on the delay.",
)
@click.option(
    "--fail-rate",
    type=float,
    default=SANDBOX.fail_rate,
    metavar="P",
    help="Probability of a 500/503 before doing anything.",
)
@click.option(
    "--drop-rate",
    type=float,
    default=SANDBOX.drop_rate,
    metavar="P",
    help="Probability of dropping the connection after doing the work.",
)
@click.option(
    "--timeout-rate",
    type=float,
    default=SANDBOX.gateway_timeout_rate,
    metavar="P",
    help="Probability of a 504 after doing the work.",
)
@click.option(
    "--token-ttl",
    type=click.FloatRange(min=0, min_open=True),
    default=SANDBOX.token_ttl,
    show_default=True,
    metavar="S",
    help="Seconds an access token lives.",
)
@click.option(
    "--duplicate-email",
    type=click.Choice(get_args(DuplicateEmail)),
    default=SANDBOX.duplicate_email,
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
@click.option(
    "--search-lag",
    type=click.FloatRange(min=0),
    default=SANDBOX.search_lag,
    metavar="S",
    help="Seconds before a new customer shows in search and list answers (GET by id: at once).",
)
@click.option("--seed", type=int, help="Seed for reproducible faults.")
@friendly_errors
def sandbox(
    host: str,
    port: int,
    rate_limit: int,
    rate_window: RateWindow,
    burst: tuple[int, float] | None,
    background_load: float,
    latency_ms: float,
    jitter_ms: float,
    fail_rate: float,
    drop_rate: float,
    timeout_rate: float,
    token_ttl: float,
    duplicate_email: DuplicateEmail,
    retry_after_header: bool,
    properties: Path | None,
    search_lag: float,
    seed: int | None,
) -> None:
    """Serve a local Help Scout API to rehearse an import; Ctrl-C stops it.

    The first three lines printed are the environment to paste into the shell that runs the import;
    a fourth gives a refresh token, for tools that use the authorization-code flow.
    """
    from importer.sandbox import DEFAULT_PROPERTIES, load_properties, serve

    config = SandboxConfig(
        rate_limit=rate_limit or None,
        rate_window=rate_window,
        burst=burst,
        background_load=background_load,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        fail_rate=fail_rate,
        drop_rate=drop_rate,
        gateway_timeout_rate=timeout_rate,
        token_ttl=token_ttl,
        duplicate_email=duplicate_email,
        retry_after_header=retry_after_header,
        search_lag=search_lag,
        seed=seed,
        properties=load_properties(properties) if properties else DEFAULT_PROPERTIES,
    )

    def ready(url: str) -> None:
        if host in ("0.0.0.0", "::", ""):  # listening everywhere: this machine reaches it here
            url = url.replace(f"//{host}:", "//127.0.0.1:").replace("//[::]:", "//127.0.0.1:")
        click.echo(f"export HELPSCOUT_API_URL={url}")
        click.echo(f"export HELPSCOUT_APP_ID={config.app_id}")
        click.echo(f"export HELPSCOUT_APP_SECRET={config.app_secret}")
        click.echo(f"export HELPSCOUT_REFRESH_TOKEN={config.refresh_token}")
        click.echo(f"# Help Scout sandbox listening on {url} (Ctrl-C to stop)", err=True)

    try:
        serve(config, host=host, port=port, on_ready=ready)
    except OSError as exc:  # the port is taken, the host unknown...
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
