"""The ``helpscout-import`` command: a thin skin over the library.

Each command parses its options, calls one library function and turns the outcome into output and
an exit code. Every :class:`~importer.core.errors.ImporterError` ends as one line on stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import json
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import pyarrow as pa
from tqdm import tqdm

from importer import __version__
from importer.core.errors import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    EXIT_STOPPED,
    EXIT_USAGE,
    ConfigError,
    ImporterError,
    NotConfirmed,
)
from importer.core.options import (
    Flag,
    ImportOptions,
    ReadOptions,
    SendOptions,
    UndoOptions,
    ValidateOptions,
)
from importer.core.redact import redact
from importer.core.text import for_terminal, issue_line, plural
from importer.jobs.front import import_csv, validate_csv
from importer.read import Guessed, count_rows
from importer.sandbox.config import SandboxConfig
from importer.send.results import CHANGED_HINT, IMPORT_STATUSES, cannot_write

if TYPE_CHECKING:
    from importer.jobs.undo import UndoResult, UndoScope
    from importer.send.ledger import PastRun
    from importer.send.results import Outcome
    from importer.send.tally import ImportResult, Tally
    from importer.suggest import Suggestion

# The HTTP side (aiohttp, the uploader) is imported by the commands that send, so that validate
# starts lighter: ~20 MB less at peak.


class _LocalPath(click.Path):
    """A path that says so when it is empty (``--state "$UNSET"``, which would name the current
    folder) or a web address (a published sheet's link, which would read as a missing file
    named ``https:/...``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path: give a file's name", param, ctx)  # "" would be "."
        if isinstance(value, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value):
            self.fail(
                f"{value!r} is a web address, not a file: download it first (curl -fLo "
                "export.csv 'ADDRESS'), then pass the file",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


READABLE_FILE = _LocalPath(exists=False, dir_okay=True, path_type=Path)
FILE_ONLY = _LocalPath(dir_okay=False, path_type=Path)
Command = Callable[..., Any]
Decorator = Callable[[Command], Command]


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


def option_of(field: dataclasses.Field[Any], help: str | None = None) -> Decorator:
    """The click option of an options field: its :class:`~importer.core.options.Flag` (``help``
    said otherwise, when given), its default, and its name (the keyword the command receives)."""
    spec: Flag = field.metadata["flag"]
    names = list(spec.names)
    settings: dict[str, Any] = {"help": help or spec.help, "metavar": spec.metavar,
                                "show_default": spec.show_default,
                                "default": field.default}  # fmt: skip
    if spec.envvar is not None:
        settings.update(envvar=spec.envvar, show_envvar=True)
    if spec.kind == "flag" and len(names) == 2:  # --check-existing/--no-check-existing
        names = ["/".join(names)]
    elif spec.kind == "flag":
        settings["is_flag"] = True
    else:
        settings["type"] = click_type(spec)
    return click.option(*names, field.name, **settings)


def click_type(spec: Flag) -> click.ParamType | None:
    """What a flag's value is parsed as (out of bounds or choices: a usage error, exit 2)."""
    if spec.choices:
        return click.Choice(spec.choices)
    if spec.kind in ("int", "float") and spec.low is None and spec.high is None:
        return click.INT if spec.kind == "int" else click.FLOAT
    opened = {"min_open": spec.open_low, "max_open": spec.open_high}
    if spec.kind == "int":
        low, high = (None if bound is None else int(bound) for bound in (spec.low, spec.high))
        return click.IntRange(low, high, **opened)
    if spec.kind == "float":
        return click.FloatRange(spec.low, spec.high, **opened)
    return {"input": READABLE_FILE, "output": FILE_ONLY}.get(spec.kind)


def flags_of(
    kind: type,
    first: str | None = None,
    last: str | None = None,
    *,
    helps: dict[str, str] | None = None,
) -> Decorator:
    """The options of the flagged fields ``kind`` declares itself, in their order (from ``first``
    to ``last``: where a command puts options of its own between them); ``helps``: the help of
    some said otherwise, by field."""
    own = vars(kind).get("__annotations__", {})
    names = [f.name for f in dataclasses.fields(kind) if f.name in own and "flag" in f.metadata]
    start = names.index(first) if first else 0
    end = names.index(last) + 1 if last else len(names)
    chosen = set(names[start:end])

    def decorate(command: Command) -> Command:
        for field in reversed(dataclasses.fields(kind)):  # click lists the last added first
            if field.name in chosen:
                command = option_of(field, (helps or {}).get(field.name))(command)
        return command

    return decorate


def builds(kind: type) -> Decorator:
    """The command receives ``options``: a ``kind`` made of the flags that are its fields (checked
    as it is made: a ConfigError naming the flag)."""
    names = {f.name for f in dataclasses.fields(kind) if "flag" in f.metadata}

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in names & kwargs.keys()}
            return command(*args, options=kind(**given), **kwargs)

        return wrapper

    return decorate


def input_options(command: Command) -> Command:
    """FILE, the mapping and how to read FILE: every command that reads a CSV with a mapping."""
    command = flags_of(ReadOptions)(command)
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


#: How init and review read FILE: the input's flags, said more briefly (no mapping to check).
brief_input_options = flags_of(
    ReadOptions,
    helps={
        "encoding": "Text encoding of the CSV (default: detected).",
        "delimiter": "Field delimiter (default: sniffed).",
    },
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


@main.command()
@input_options
@flags_of(ValidateOptions)
@friendly_errors
@builds(ValidateOptions)
def validate(file: Path, mapping: Path, options: ValidateOptions) -> None:
    """Check every row of FILE against the mapping and Help Scout's rules; send nothing.

    Exits 0 when no row has an error, 1 when some do, 2 when the file or mapping is unusable.
    """
    with progress_bar("rows") as bar:
        result = validate_csv(file, mapping, options, progress=bar.update)
    for note in result.summary.notes:
        click.echo(f"Warning: {for_terminal(note)}", err=True)
    for row, payload in result.samples:
        click.echo(f"row {row}: {for_terminal(json.dumps(payload, ensure_ascii=False), None)}")
    report, rejects = options.report, options.rejects
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
        click.echo(rejects_line(result.summary.invalid, Path(rejects)))
    sys.exit(EXIT_OK if result.ok else EXIT_ROWS_FAILED)


def rejects_line(count: int, path: Path) -> str:
    return f"{plural(count, 'row')} to fix written to {for_terminal(path, None)}"


@main.command()
@click.argument("file", type=READABLE_FILE, required=False)
@click.option(
    "-o",
    "--output",
    type=FILE_ONLY,
    help="Write the suggested mapping here instead of printing it.",
)
@click.option(
    "--preset",
    "preset_name",
    metavar="NAME",
    help="Use this preset instead of recognising the export (see --list-presets).",
)
@click.option("--list-presets", is_flag=True, help="List the presets, then stop.")
@brief_input_options
@friendly_errors
@builds(ReadOptions)
def init(
    file: Path | None,
    output: Path | None,
    preset_name: str | None,
    list_presets: bool,
    options: ReadOptions,
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
    suggestion = suggest_file(file, preset_name=preset_name, reading=options)
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
    click.echo(f"{file} {suggested_how(suggestion)}.", err=True)
    for line in suggestion.summary():
        click.echo(line, err=True)


def suggested_how(suggestion: Suggestion) -> str:
    """How init came to its mapping: a preset it recognised, or the header words and values."""
    if suggestion.match is None:
        return "no preset fits: suggested from its header words and the values of its first rows"
    return (
        f"{suggestion.match.describe()}: the {suggestion.match.preset.name} preset, "
        "trimmed to its columns"
    )


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
    type=FILE_ONLY,
    help="Where Save writes the mapping (an existing file only when the page says so).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free).")
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
@brief_input_options
@friendly_errors
@builds(ReadOptions)
def review(
    file: Path,
    mapping: Path | None,
    output: Path,
    port: int,
    no_browser: bool,
    options: ReadOptions,
) -> None:
    """Review the mapping of FILE on a local page: every column with its values, the payloads
    Help Scout will get, then Save. The first line printed is the page's URL; Done or Ctrl-C
    stops it."""
    import webbrowser

    from importer.review import Review
    from importer.review.server import serve

    session = Review(file, output, mapping, options)

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
    type=FILE_ONLY,
    help="Write one line per input row here (CSV); required unless --dry-run.",
)
@flags_of(SendOptions, last="api_url")
@click.option(
    "--sandbox",
    "use_sandbox",
    is_flag=True,
    help="Start the built-in sandbox in this process and import into it: nothing reaches "
    "Help Scout, no credentials needed.",
)
@click.option(
    "--properties",
    type=FILE_ONLY,
    help="With --sandbox: the customer property definitions of the account being rehearsed "
    "(JSON or YAML, or a saved GET /v2/customer-properties answer).",
)
@flags_of(SendOptions, first="rate")
@flags_of(ImportOptions, last="settle_time")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and print the plan (customers, requests, time at the budget); send nothing. "
    "With --check-existing: the plan against the account, row by row (create, update and "
    "what would change, skip), from reads only; -o writes it as 'planned' lines.",
)
@flags_of(ImportOptions, first="report")
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
@builds(ImportOptions)
def run(ctx: click.Context, file: Path, mapping: Path, results: Path | None, use_sandbox: bool,
        properties: Path | None, dry_run: bool, quiet: bool, yes: bool,
        options: ImportOptions) -> None:  # fmt: skip
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
    if dry_run and (options.summary_json or options.log_file):
        raise click.UsageError(
            "--summary-json and --log-file describe an import that sends: not with --dry-run"
        )
    if dry_run and not options.check_existing:
        if results is not None:  # the plan written row by row needs the account's answers
            click.echo(f"Warning: {for_terminal(results, None)} is not written: only --dry-run "
                       "--check-existing writes a plan, row by row", err=True)  # fmt: skip
        print_plan(file, mapping, options, checked_url=not use_sandbox)
    sandbox = sandbox_of(use_sandbox, properties)
    if dry_run:  # with --check-existing: the plan against the account
        print_account_plan(file, mapping, results, options, sandbox=sandbox)
    if results is None:
        raise click.UsageError("Missing option '-o' / '--output': the results file to write.")
    if sandbox is None and not yes and sys.stdin.isatty():
        confirm_real_account(file, mapping, results, options)
    say = Console(quiet)
    result = import_with_bar(ctx, file, mapping, results, options, sandbox=sandbox, say=say)
    say_imported(ctx, result, say, in_sandbox=use_sandbox)
    sys.exit(result.exit_code)


def sandbox_of(use_sandbox: bool, properties: Path | None) -> SandboxConfig | None:
    """The built-in sandbox ``--sandbox`` imports into, with ``--properties``' definitions."""
    if properties is not None and not use_sandbox:
        raise click.UsageError(
            "--properties describes the sandbox's account: it goes with --sandbox (a real "
            "account's properties are read from Help Scout)"
        )
    return with_properties(SandboxConfig(), properties) if use_sandbox else None


def with_properties(config: SandboxConfig, properties: Path | None) -> SandboxConfig:
    """``config`` with the property definitions of the ``--properties`` file, when one is given
    (else its own: :data:`~importer.sandbox.DEFAULT_PROPERTIES`)."""
    if properties is None:
        return config
    from importer.sandbox import load_properties

    return dataclasses.replace(config, properties=load_properties(properties))


def listeners(
    bar: tqdm, postfix: Callable[[Tally], str], echo: Callable[[str], None]
) -> tuple[Callable[[Tally], None], Callable[[str], None]]:
    """The progress and notice callbacks of a job shown on ``bar``: the tally moves the bar
    (``postfix`` says it beside), a notice clears it to be read (``echo``, redacted)."""

    def show(tally: Tally) -> None:
        bar.set_postfix_str(postfix(tally), refresh=False)
        bar.update(tally.rows - bar.n)

    def notice(message: str) -> None:
        bar.clear()
        echo(for_terminal(redact(message)))

    return show, notice


def import_with_bar(
    ctx: click.Context,
    file: Path,
    mapping: Path,
    results: Path,
    options: ImportOptions,
    *,
    sandbox: SandboxConfig | None,
    say: Console,
) -> ImportResult:
    """import_csv under a progress bar (its total estimated from the file's lines)."""
    with progress_bar("rows", enabled=not say.quiet) as bar:
        bar.total = count_rows(file)
        show, notice = listeners(bar, lambda tally: tally.postfix(), say.info)
        try:
            result = import_csv(
                file, mapping, results, options, sandbox=sandbox, progress=show, notice=notice
            )
        except KeyboardInterrupt:  # before any row was sent (reading the file)
            bar.close()
            say.error("Interrupted before sending anything.", f"\n{resume_hint(ctx)}")
            sys.exit(EXIT_STOPPED)
        bar.total = bar.n  # the total was counted from line breaks: an estimate
    return result


def resume_hint(ctx: click.Context) -> str:
    return f"To resume, run the same command:\n  {command_line(ctx)}"


def say_imported(
    ctx: click.Context, result: ImportResult, say: Console, *, in_sandbox: bool
) -> None:
    """What ``run`` prints once the import is over: notes, the closing line, the files written,
    and how it ended."""
    for note in result.notes:  # a guessed encoding changes every cell: said even with -q
        (say.error if isinstance(note, Guessed) else say.info)(f"Warning: {for_terminal(note)}")
    if result.resumed:
        say.info(
            "Resumed an import that had stopped: the rows it finished are reported as they "
            "ended, not sent again."
        )
    if in_sandbox:
        say.info("Imported into the built-in sandbox: nothing was sent to Help Scout.")
    say.out(result.line())
    if changed := result.reasons.get("skipped", {}).get("changed"):
        say.info(f"{plural(changed, 'row')} changed since imported: {CHANGED_HINT}")
    say_written(ctx, result, say)
    say.info(result.pacing_line())
    say_ending(ctx, result, say)


def say_written(ctx: click.Context, result: ImportResult, say: Console) -> None:
    """The files an import wrote, and how to import its rejects once fixed."""
    say.out(f"Results written to {for_terminal(result.results, None)}")
    for written, what in ((result.report, "Report written"), (result.summary, "Summary written"),
                          (result.log, "Requests logged")):  # fmt: skip
        if written:
            say.out(f"{what} to {for_terminal(written, None)}")
    if result.rejects:
        say.out(rejects_line(result.rejected, result.rejects))
        if result.rejected and result.state:
            say.out(f"Once fixed, import them into the same state:\n  {fix_command(ctx, result)}")


def say_ending(ctx: click.Context, result: ImportResult, say: Console) -> None:
    """An import that stopped early: why, where what finished is, and how to resume."""
    results = result.results
    kept = for_terminal(f"{results} and {result.state}" if result.state else results, None)
    if result.interrupted:
        say.error(
            f"Interrupted: what finished is in {kept}.",
            f"\n{resume_hint(ctx)}" * bool(result.state),
        )
    elif result.stopped:
        say.error(f"Error: {for_terminal(redact(result.stopped))}")
        if result.exit_code == EXIT_USAGE:
            say.info("Nothing was sent: fix the file, then run the same command.")
            return
        say.info(f"Stopped early: what finished is in {kept}.")
        if result.state:
            say.info(resume_hint(ctx))
    elif say.quiet and not result.ok:
        say.error(f"Error: {rows_not_imported(result)}: see {for_terminal(results, None)}")


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
        elif isinstance(param, click.Option) and param.is_flag:  # --no-check-existing: off
            words.append(param.secondary_opts[-1] if value is False and param.secondary_opts
                         else param.opts[-1])  # fmt: skip
        elif isinstance(param, click.Option):
            words += [param.opts[-1], str(value)]
    return for_terminal(shlex.join(words), None)


def print_plan(file: Path, mapping: Path, options: ImportOptions, *, checked_url: bool) -> NoReturn:
    """--dry-run: what run would send, and how long that takes at the budget (``checked_url``:
    the API URL is checked first, as the import would)."""
    from importer.jobs.importing import api_url_of
    from importer.send.pacing import estimate_seconds

    if checked_url:
        api_url_of(options.api_url)
    with progress_bar("rows") as bar:
        read = {f.name: getattr(options, f.name) for f in dataclasses.fields(ReadOptions)}
        reading = ValidateOptions(**read)
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
    type=FILE_ONLY,
    help="The state file of the import to undo (run's --state; by default beside its results, "
    "named after its mapping and API host: mapping.api.helpscout.net.state.sqlite).",
)
@flags_of(UndoOptions, last="only")
@flags_of(SendOptions)
@flags_of(UndoOptions, first="dry_run")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting (cron, scripts).")
@click.pass_context
@friendly_errors
@builds(UndoOptions)
def undo(ctx: click.Context, state: Path, yes: bool, options: UndoOptions) -> None:
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
    from importer.jobs.undo import undo_import

    shown: dict[str, list[Outcome]] = {}
    with progress_bar("customers") as bar:
        show, notice = listeners(bar, lambda tally: tally.line(), lambda m: click.echo(m, err=True))
        result = undo_import(state, options, confirm=functools.partial(confirm_undo, yes=yes),
                             progress=show, notice=notice,
                             on_line=functools.partial(keep_shown, shown))  # fmt: skip
    say_undone(result, shown, options)
    if result.stopped:
        kept = for_terminal(f"{result.results} and {result.state}", None)
        if result.interrupted:
            click.echo(f"Interrupted: what finished is in {kept}.", err=True)
        else:
            click.echo(f"Error: {for_terminal(redact(result.stopped))}", err=True)
            click.echo(f"Stopped early: what finished is in {kept}.", err=True)
        click.echo(resume_hint(ctx), err=True)
    sys.exit(result.exit_code)


def confirm_undo(scope: UndoScope, *, yes: bool) -> bool:
    """The undo's one question before it deletes (``--yes``: asked of nobody; no terminal and no
    --yes: refused, exit 2)."""
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


def keep_shown(shown: dict[str, list[Outcome]], outcome: Outcome) -> None:
    """Keep the first :data:`SHOWN` results lines of each kind, for the console."""
    kind = outcome.reason if outcome.status == "planned" else outcome.status
    kept = shown.setdefault("delete" if kind in ("delete", "deleted") else kind, [])
    if len(kept) < SHOWN:
        kept.append(outcome)


def say_undone(result: UndoResult, shown: dict[str, list[Outcome]], options: UndoOptions) -> None:
    """What ``undo`` prints once it is over: which import, the customers by kind, the totals
    (a dry run: the requests and time the undo needs), the files."""
    if result.resumed:
        click.echo("Resumed an undo that had stopped: the customers it deleted are reported "
                   "as deleted, not sent again.", err=True)  # fmt: skip
    target = result.target
    assert target is not None
    click.echo(
        f"Undo of the import of {target.label} ({target.started_at[:16].replace('T', ' ')} UTC, "
        f"{for_terminal(target.source, None)}): {plural(target.created, 'customer')} created."
    )
    for kind, outcomes in shown.items():
        if kind == "delete" and not options.dry_run:
            continue
        for outcome in outcomes:
            label = ("would delete" if kind == "delete" else
                     "would keep" if outcome.status == "planned" else outcome.status)  # fmt: skip
            because = f": {for_terminal(outcome.error)}" if outcome.error else ""
            click.echo(f"  {label} row {outcome.row} customer {outcome.customer_id}{because}")
    click.echo(result.line())
    if options.dry_run:
        say_undo_cost(result, options)
    if result.results is not None:
        click.echo(f"Results written to {for_terminal(result.results, None)}")
    click.echo(result.pacing_line(), err=True)
    if options.dry_run:
        click.echo("Nothing was deleted (--dry-run): only reads were sent.")


def say_undo_cost(result: UndoResult, options: UndoOptions) -> None:
    """A dry run's requests: the reads again, and a delete per customer to delete."""
    from importer.send.pacing import READ_COST, WRITE_COST, budget_seconds

    deletes = result.planned
    cost = result.requests * READ_COST + deletes * WRITE_COST
    click.echo(
        f"The undo needs {plural(result.requests + deletes, 'request')}: "
        f"{result.requests:,} reads (the dry run's own, again) and {deletes:,} deletes "
        f"({cost:,} of the per-minute budget: a delete costs {WRITE_COST})."
    )
    echo_duration(lambda rate: budget_seconds(cost, rate), options, result.limit)


#: Customers of each kind an undo lists on the console (all are in its results file).
SHOWN = 20


@main.command()
@click.option(
    "--state",
    type=FILE_ONLY,
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
@flags_of(SandboxConfig, "rate_limit", "rate_window")
@click.option(
    "--burst",
    callback=lambda _ctx, _param, value: _burst(value),
    metavar="N/S",
    help="Also at most N writes in any S seconds (Help Scout's older API: 12/5).",
)
@flags_of(SandboxConfig, "background_load", "retry_after_header")
@click.option(
    "--properties",
    type=FILE_ONLY,
    help="JSON or YAML file of customer property definitions.",
)
@flags_of(SandboxConfig, "search_lag", "seed")
@friendly_errors
@builds(SandboxConfig)
def sandbox(
    host: str,
    port: int,
    burst: tuple[int, float] | None,
    properties: Path | None,
    options: SandboxConfig,
) -> None:
    """Serve a local Help Scout API to rehearse an import; Ctrl-C stops it.

    The first three lines printed are the environment to paste into the shell that runs the import;
    a fourth gives a refresh token, for tools that use the authorization-code flow.
    """
    from importer.sandbox import serve

    config = with_properties(dataclasses.replace(options, burst=burst), properties)

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
