"""The options of the library's jobs, as values: one set of defaults, checked once.

:class:`ValidateOptions` is what ``validate_csv`` takes, :class:`ImportOptions` what
``import_csv`` and ``plan_import`` take, :class:`UndoOptions` what ``undo_import`` takes; they
share :class:`ReadOptions` (how to read the input) and :class:`SendOptions` (where to send, how
fast). Frozen dataclasses, checked when made (a :class:`~importer.core.errors.ConfigError` naming
the flag), so an object that exists is usable and reusable. A field the command line offers
carries its :class:`Flag` (names, help, the values it takes: :func:`flag`); the CLI makes its
options from those and builds the object from what they parsed, so a flag is one field here and
a default is written once. A leaf (it imports only the errors): the client and the uploader take
their defaults from it, and making options never loads pandas or aiohttp. Callbacks,
``credentials`` and the sandbox's configuration stay keyword arguments of the functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from importer.core.errors import ConfigError

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_IMPORT",
    "DEFAULT_READ",
    "DEFAULT_SHARE",
    "DEFAULT_UNDO",
    "DEFAULT_VALIDATE",
    "MAX_ATTEMPTS",
    "MAX_CONCURRENCY",
    "REQUEST_TIMEOUT",
    "ROW_TIMEOUT",
    "SETTLE_TIME",
    "Duplicates",
    "Flag",
    "ImportOptions",
    "OnExisting",
    "ReadOptions",
    "SendOptions",
    "UndoOptions",
    "ValidateOptions",
    "allowed_invalid",
    "flag",
    "output_flags",
]

#: Where Help Scout's API is; ``HELPSCOUT_API_URL`` or ``--api-url`` say otherwise.
DEFAULT_API_URL = "https://api.helpscout.net"
#: Without ``--rate``, the share of the budget Help Scout reports that an import spends.
DEFAULT_SHARE = 0.9
#: The share of the account's budget kept free for the people and integrations beside the run.
DEFAULT_HEADROOM = 0.1
#: Sends per row when Help Scout answers 5xx or the connection is lost.
MAX_ATTEMPTS = 5
#: Requests in flight at most: more than any Help Scout budget can use (Pro's 800 a minute is
#: 7 creates a second: 256 in flight is half a minute of them), and each is a connection.
MAX_CONCURRENCY = 256
#: Seconds one request may take, from connecting to the last byte of the answer.
REQUEST_TIMEOUT = 30.0
#: Seconds one row's requests may take in all (creates, look-ups, retries; not the waits for
#: the rate budget or for search to catch up): then it ends ``failed``, kept in flight.
ROW_TIMEOUT = 180.0
#: Seconds after a create whose fate is unknown before a look-up that finds nobody is believed
#: (Help Scout's search is an index that may lag behind creates; how much is not documented).
SETTLE_TIME = 60.0

Duplicates = Literal["error", "first", "last"]
"""Rows whose key an earlier row has: invalid (``error``), import the first, or the last."""
OnExisting = Literal["skip", "update"]
"""A customer that exists already (imported before, or found by ``check_existing``)."""

PathLike = str | Path

#: What a flag takes: ``output`` a file to write (not a folder), ``input`` a path to read (the
#: library says what is wrong with it), ``flag`` on or off (``--x/--no-x`` when it has two names).
FlagKind = Literal["text", "int", "float", "flag", "input", "output"]


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """The values a number field takes, checked by every options object as it is made and by
    the command line as it parses the flag (out of bounds: exit 2 either way)."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    """The bounds themselves are refused (0 < x rather than 0 <= x)."""
    open_high: bool = False
    unit: str = ""
    """Said after the bounds (" seconds")."""
    why: str = ""
    """Said after the bounds: why there is a limit."""

    def words(self) -> str | None:
        """The bounds as a message says them; None: the field has none."""
        said = []
        if self.low is not None:
            said.append(f"{'more than' if self.open_low else 'at least'} {self.low:g}")
        if self.high is not None:
            said.append(f"{'below' if self.open_high else 'at most'} {self.high:g}")
        return " and ".join(said) + self.unit + self.why if said else None

    def holds(self, value: float) -> bool:
        low, high = self.low, self.high
        return math.isfinite(value) and not (
            (low is not None and (value <= low if self.open_low else value < low))
            or (high is not None and (value >= high if self.open_high else value > high))
        )


@dataclass(frozen=True)
class Flag(Bounds):
    """How a field is given on the command line (the CLI turns it into a click option)."""

    names: tuple[str, ...]
    help: str
    kind: FlagKind = "text"
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    show_default: bool = False
    envvar: str | None = None


def flag(default: Any, *names: str, help: str, **how: Any) -> Any:
    """A field with ``default``, given on the command line as ``names`` (see :class:`Flag`)."""
    return field(default=default, metadata={"flag": Flag(names=names, help=help, **how)})


def bounded(default: float, **bounds: Any) -> Any:
    """A number field no flag gives, with its :class:`Bounds`."""
    return field(default=default, metadata={"bounds": Bounds(**bounds)})


def out_of_bounds(options: object) -> str | None:
    """The first field of ``options`` (a dataclass) outside its bounds, in words; None: none."""
    for f in fields(options):  # type: ignore[arg-type]
        bounds = f.metadata.get("bounds") or f.metadata.get("flag")
        value = getattr(options, f.name)
        if bounds is None or value is None or (words := bounds.words()) is None:
            continue
        if not bounds.holds(value):
            name = bounds.names[0] if isinstance(bounds, Flag) else f.name
            return f"{name} must be {words}, not {value!r}"
    return None


def output_flags(
    options: ReadOptions | SendOptions, *, but: Collection[str] = ()
) -> list[tuple[str, Any]]:
    """The files ``options`` (an options object) write, each named by its flag, for the output
    guard (:func:`~importer.core.files.check_outputs`); ``but``: fields the caller names itself."""
    return [
        (f.metadata["flag"].names[-1], getattr(options, f.name))
        for f in fields(options)
        if "flag" in f.metadata and f.metadata["flag"].kind == "output" and f.name not in but
    ]


_REJECTS = Flag(
    names=("--rejects",),
    help="Write the rows to fix here: their own columns, with their row number and what is "
    "wrong; fix them in a spreadsheet and give the file back with the same mapping.",
    kind="output",
    metavar="FILE.csv",
)


def _one_of(option: str, value: object, kind: object) -> None:
    choices = get_args(kind)
    if value not in choices:
        raise ConfigError(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def allowed_invalid(spec: str | None, rows: int) -> int:
    """The invalid rows ``--max-invalid`` lets a run exit 0 with: ``N``, or ``N%`` of ``rows``
    (rounded down); None: none. ``spec`` was checked by :func:`_max_invalid`."""
    if spec is None:
        return 0
    if spec.endswith("%"):
        return math.floor(float(spec[:-1]) * rows / 100)
    return int(spec)


def _max_invalid(value: str | None) -> None:
    well_formed = value is None or re.fullmatch(r"\d+|\d+(\.\d+)?%", value)
    if not well_formed or (value is not None and value.endswith("%") and float(value[:-1]) > 100):
        raise ConfigError(
            f"--max-invalid must be a count of rows (5) or a percentage of them (2%), not {value!r}"
        )


class _Checked:
    """The end of the chain of ``__post_init__`` checks: every field's bounds (each class
    checks the rest of its own fields)."""

    def __post_init__(self) -> None:
        if problem := out_of_bounds(self):
            raise ConfigError(problem)


@dataclass(frozen=True, kw_only=True)
class ReadOptions(_Checked):
    """How to read the input; None: detected (see :func:`~importer.read.open_source`)."""

    encoding: str | None = flag(
        None,
        "--encoding",
        help="Text encoding of the CSV (default: detected; e.g. cp1252, latin-1).",
    )
    delimiter: str | None = flag(
        None,
        "--delimiter",
        help="Field delimiter, when sniffing guesses wrong (use '\\t' for TAB).",
    )
    skip_lines: int | None = flag(
        None, "--skip-lines", kind="int", low=0, metavar="N",
        help="Lines before the header row (a title, an export date); default: detected.",
    )  # fmt: skip
    sheet: str | None = flag(
        None, "--sheet", metavar="NAME|N",
        help="The sheet of a workbook (.xlsx, .xls, .ods) to read, by name or number from 1; "
        "default: the first sheet holding a table.",
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SendOptions(_Checked):
    """Where a command that sends (``run``, ``undo``) sends, and how fast and patiently."""

    api_url: str | None = flag(
        None, "--api-url", envvar="HELPSCOUT_API_URL",
        help="Where the Help Scout API is (plain http only to this machine). Default: "
        "HELPSCOUT_API_URL of the credentials file, else " + DEFAULT_API_URL + ".",
    )  # fmt: skip
    rate: float | None = flag(
        None, "--rate", kind="int", low=0, open_low=True, unit=" requests a minute", metavar="N",
        help="The most to spend a minute (the plan's budget: Standard 200, Plus 400, Pro 800; a "
        "create costs 2); the importer still slows down for others under it. Default: "
        "--budget-share of the budget Help Scout reports.",
    )  # fmt: skip
    budget_share: float = flag(
        DEFAULT_SHARE, "--budget-share", kind="float", low=0, high=1, open_low=True,
        show_default=True,
        help="Without --rate, the share of the reported budget to use; the rest stays for agents "
        "and other integrations.",
    )  # fmt: skip
    headroom: float = flag(
        DEFAULT_HEADROOM, "--headroom", kind="float", low=0, high=1, open_high=True,
        show_default=True,
        help="The share of the account's budget kept free for people's bursts: the importer slows "
        "down while others spend the rest, and speeds up when they stop.",
    )  # fmt: skip
    concurrency: int | None = flag(
        None, "--concurrency", kind="int", low=1, high=MAX_CONCURRENCY, metavar="N",
        why=" (more requests in flight than any Help Scout budget can use)",
        help=f"Requests in flight at once, at most {MAX_CONCURRENCY} (default: enough to keep up "
        "with the rate).",
    )  # fmt: skip
    max_attempts: int = flag(
        MAX_ATTEMPTS, "--max-attempts", kind="int", low=1, show_default=True,
        help="Sends per row when Help Scout answers 5xx or the connection is lost.",
    )  # fmt: skip
    request_timeout: float = bounded(REQUEST_TIMEOUT, low=0, open_low=True, unit=" seconds")
    """Seconds one request may take."""


@dataclass(frozen=True, kw_only=True)
class ValidateOptions(ReadOptions):
    """What :func:`~importer.jobs.front.validate_csv` writes and keeps besides its totals."""

    report: PathLike | None = flag(
        None, "--report", kind="output",
        help="Write every issue to this file; the suffix picks the format: .csv, .json or .html.",
    )  # fmt: skip
    rejects: PathLike | None = field(default=None, metadata={"flag": _REJECTS})
    """Write the invalid rows here, with their own columns and what is wrong."""
    show: int = flag(
        0, "--show", kind="int", low=0, metavar="N", help="Print the first N payloads as sent."
    )
    keep_issues: int = bounded(20, low=0)
    """Keep the first N issues, for a console listing."""


@dataclass(frozen=True, kw_only=True)
class ImportOptions(ReadOptions, SendOptions):
    """How :func:`~importer.jobs.front.import_csv` reads and sends, and what it writes besides the
    results (the plan of ``run --dry-run --check-existing`` takes the same)."""

    include_source: bool = flag(
        False, "--include-source", kind="flag",
        help="Append each row's original columns to the results, so the rows that failed can be "
        "fixed and imported again with the same mapping.",
    )  # fmt: skip
    state: PathLike | None = flag(
        None, "--state", kind="output",
        help="The ledger (SQLite) that makes runs resumable and re-runs cheap; it belongs to one "
        "account. Default: beside the results, named after the mapping and the API host "
        "(mapping.api.helpscout.net.state.sqlite). Keep it on a local disk.",
    )  # fmt: skip
    on_existing: OnExisting = flag(
        "skip", "--on-existing", choices=get_args(OnExisting), show_default=True,
        help="A row imported before whose data changed, or whose customer exists already: leave "
        "the customer as it is (skipped) or update it.",
    )  # fmt: skip
    check_existing: bool | None = flag(
        None, "--check-existing", "--no-check-existing", kind="flag",
        help="Look up the emails of rows no earlier run imported, so customers created elsewhere "
        "are not created again (a look-up per 20 rows). Default: only on a first run into an "
        "account that holds customers already.",
    )  # fmt: skip
    duplicates: Duplicates = flag(
        "error", "--duplicates", choices=get_args(Duplicates), show_default=True,
        help="Rows with the same key (email): invalid after the first (error), import the first "
        "and skip the others (first), or import the last (last).",
    )  # fmt: skip
    retry_failed: bool = flag(
        False, "--retry-failed", kind="flag",
        help="Send again only the rows that failed last time; the others are skipped "
        "(reason not-retried).",
    )  # fmt: skip
    retry_unknown: bool = flag(
        False, "--retry-unknown", kind="flag",
        help="Send again the rows whose create got no certain answer and that have no email to "
        "look them up by (status unknown): only after checking in Help Scout that they are not "
        "there.",
    )  # fmt: skip
    max_invalid: str | None = flag(
        None, "--max-invalid", metavar="N|N%",
        help="Exit 0 when at most N rows (or N% of them) are invalid and none failed: for nightly "
        "runs of a file with known bad rows.",
    )  # fmt: skip
    row_timeout: float = bounded(ROW_TIMEOUT, low=0, open_low=True, unit=" seconds")
    """Seconds one row's requests may take in all."""
    settle_time: float = flag(
        SETTLE_TIME, "--settle-time", kind="float", low=0, unit=" seconds", show_default=True,
        metavar="S",
        help="Seconds after a create that got no certain answer (504, a dropped connection, a "
        "kill) before a look-up that finds nobody is believed and the row is sent again: Help "
        "Scout's search may lag behind creates. Other rows go on meanwhile.",
    )  # fmt: skip
    report: PathLike | None = flag(
        None, "--report", kind="output", metavar="RESULTS.html",
        help="Write a results report here: rows by outcome, failures by reason with their "
        "logRefs, the pace over time (one HTML page).",
    )  # fmt: skip
    rejects: PathLike | None = field(default=None, metadata={"flag": _REJECTS})
    """Write the rows to fix here: the invalid ones and those Help Scout refused."""
    summary_json: PathLike | None = flag(
        None, "--summary-json", kind="output", metavar="PATH",
        help="Write what the run did here as JSON, however it ends: counts per status and reason, "
        "durations, requests, 429s, pace, exit code, the files written (schema in the README).",
    )  # fmt: skip
    log_file: PathLike | None = flag(
        None, "--log-file", kind="output", metavar="PATH",
        help="Append one JSON line per HTTP request here: time, method, path, status, attempt, "
        "latency, logRef (never a token or a customer's data).",
    )  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        _one_of("--on-existing", self.on_existing, OnExisting)
        _one_of("--duplicates", self.duplicates, Duplicates)
        _max_invalid(self.max_invalid)


@dataclass(frozen=True, kw_only=True)
class UndoOptions(SendOptions):
    """Which import :func:`~importer.jobs.undo.undo_import` takes back, and what it writes."""

    run: int | None = flag(
        None, "--run", kind="int", low=1, metavar="ID",
        help="Undo the import this run belongs to (with the runs it resumed). Default: the newest "
        "import that created customers.",
    )  # fmt: skip
    results: PathLike | None = flag(
        None, "-o", "--output", kind="output",
        help="Write one line per customer here (CSV). Default: beside the state, named after it "
        "(export.undo.csv); in a dry run, none.",
    )  # fmt: skip
    only: PathLike | None = flag(
        None, "--only-listed", kind="input", metavar="RESULTS.csv",
        help="Undo only the customers this results file of the import lists as created (filter "
        "it to the rows to take back); customers the state does not record as created by the "
        "import are never touched.",
    )  # fmt: skip
    dry_run: bool = flag(
        False, "--dry-run", kind="flag",
        help="Read each customer and its conversations and list what would be deleted or kept, "
        "and why; delete nothing, write nothing to the state.",
    )  # fmt: skip


#: The defaults, as objects: the command line's options read theirs from these.
DEFAULT_READ = ReadOptions()
DEFAULT_VALIDATE = ValidateOptions()
DEFAULT_IMPORT = ImportOptions()
DEFAULT_UNDO = UndoOptions()
