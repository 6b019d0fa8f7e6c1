"""The ledger: what was sent to Help Scout and what came back, in SQLite, to resume and re-run.

It lets the same command continue where it stopped without sending anyone twice, and a scheduled
re-run send only new or changed rows. Its promises: :meth:`Ledger.mark_in_flight` is on disk
(fsync) when it returns, and only then are requests sent, so none leaves for a row the ledger could
forget; :meth:`Ledger.settle` is buffered, and a lost settle leaves its row in flight, which the
next run looks up (a crash costs a look-up, never a duplicate); one writer at a time holds a
state, by whatever name (``StateLockedError``): flocks, then a writer's :class:`Lease` inside the
database for writers the flocks cannot see; readers (``readonly=True``) write nothing. The ledger
only records: what happens to a row is :mod:`importer.send.decide`'s. The uploader's and the
undo's use of it, entries, hashes, durability, locking: docs/internals.md#exactly-once.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import itertools
import json
import os
import secrets
import shlex
import socket
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, get_args
from urllib.parse import urlsplit

from importer.core.errors import ConfigError, RunStopped, StateLockedError
from importer.core.files import PRIVATE, create_private
from importer.core.redact import redact

APPLICATION = "helpscout-importer"
SCHEMA_VERSION = 6
GET_MANY_CHUNK = 500
"""Keys per ``IN (...)`` query: far below SQLite's variable limit (999 on old builds)."""

Status = Literal["in_flight", "created", "updated", "skipped", "failed", "exists"]
SettledStatus = Literal["created", "updated", "skipped", "failed", "exists"]
RunStatus = Literal["running", "stopped", "finished"]
STATUSES: tuple[Status, ...] = get_args(Status)
SETTLED_STATUSES: frozenset[str] = frozenset(get_args(SettledStatus))

# MIGRATIONS[n] takes a state from schema version n to n + 1, in one transaction.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            pid INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished')),
            source TEXT NOT NULL,
            source_fingerprint TEXT NOT NULL
        )""",
        """CREATE TABLE rows (
            key TEXT PRIMARY KEY,
            row INTEGER NOT NULL,
            payload_hash TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('in_flight', 'created', 'updated', 'skipped', 'failed', 'exists')),
            customer_id TEXT,
            http_status INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            log_ref TEXT,
            run_id INTEGER NOT NULL,
            first_seen TEXT NOT NULL,
            updated TEXT NOT NULL
        ) WITHOUT ROWID""",
    ],
    [  # 2: when sends left and runs were last alive (search lag); the results each run wrote
        "ALTER TABLE rows ADD COLUMN sent_at TEXT",
        "ALTER TABLE runs ADD COLUMN alive_at TEXT",
        "ALTER TABLE runs ADD COLUMN results TEXT",
    ],
    [  # 3: which run created each customer, and what it sent; undos and what each did
        "ALTER TABLE rows ADD COLUMN created_run INTEGER",
        "ALTER TABLE rows ADD COLUMN created_payload TEXT",
        # a state from before: a row still 'created' was created by the run that last wrote it
        "UPDATE rows SET created_run = run_id WHERE status = 'created'",
        """CREATE TABLE undos (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            pid INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished')),
            runs TEXT NOT NULL,
            results TEXT
        )""",
        """CREATE TABLE undone (
            customer_id TEXT PRIMARY KEY,
            key TEXT NOT NULL,
            row INTEGER NOT NULL,
            created_run INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('in_flight', 'deleted', 'kept', 'failed')),
            reason TEXT,
            http_status INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            log_ref TEXT,
            undo_id INTEGER NOT NULL,
            updated TEXT NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX undone_by_run ON undone (created_run)",
    ],
    [  # 4: what history lists: the mapping each run used, its rows by status, its exit code
        "ALTER TABLE runs ADD COLUMN mapping TEXT",
        "ALTER TABLE runs ADD COLUMN counts TEXT",
        "ALTER TABLE runs ADD COLUMN exit_code INTEGER",
    ],
    [  # 5: where each run sent (the state's destination is in meta: 'destination')
        "ALTER TABLE runs ADD COLUMN destination TEXT",
    ],
    [  # 6: the writer's lease (see Lease), at most one line
        """CREATE TABLE writer (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            token TEXT NOT NULL,
            started_at TEXT NOT NULL,
            process TEXT
        )""",
    ],
]

_ENTRY_COLUMNS = (
    "key, row, payload_hash, status, customer_id, http_status, attempts, last_error, log_ref, "
    "run_id, first_seen, updated, sent_at"
)
_CANNOT_WRITE = {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
}
"""Primary SQLite error codes that mean the disk or another process, not a bug in this module."""
#: The runs' columns a :class:`PastRun` holds (with ``resumed``, which the next run tells).
_RUN_COLUMNS = (
    "id, started_at, finished_at, status, source, mapping, results, counts, exit_code, "
    "destination, pid, source_fingerprint"
)
_MARK_SQL = """
    INSERT INTO rows (key, row, payload_hash, status, run_id, first_seen, updated, sent_at)
    VALUES (?, ?, ?, 'in_flight', ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET
        row = excluded.row, status = 'in_flight', run_id = excluded.run_id,
        updated = excluded.updated, sent_at = excluded.sent_at
"""
_SETTLE_SQL = """
    UPDATE rows SET
        status = ?1, customer_id = COALESCE(?2, customer_id), http_status = ?3, last_error = ?4,
        log_ref = ?5, attempts = ?6, row = COALESCE(?7, row),
        payload_hash = COALESCE(?8, payload_hash), run_id = ?9,
        created_run = CASE WHEN ?1 = 'created' THEN COALESCE(created_run, ?9) ELSE created_run END,
        created_payload = CASE WHEN ?1 = 'created' THEN COALESCE(?10, created_payload)
                               ELSE created_payload END,
        updated = ?11
    WHERE key = ?12
"""


def payload_hash(payload: Mapping[str, Any]) -> str:
    """The payload's fingerprint, equal for equal payloads whatever their key order."""
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


def _canonical(payload: Mapping[str, Any]) -> str:
    """The payload as the text that is hashed: sorted keys, no whitespace, NaN refused."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def default_state_path(results_path: str | Path, name: str | Path, api_url: str) -> Path:
    """Where the state lives when ``--state`` is not given: beside the results file, named after
    the import (``name``: the mapping, else the file imported) and where it sends, so a dated
    export reuses it and a rehearsal never shares the real account's
    (``mapping.yaml`` to https://api.helpscout.net: ``mapping.api.helpscout.net.state.sqlite``;
    to the sandbox on port 8080: ``mapping.127.0.0.1-8080.state.sqlite``)."""
    parts = urlsplit(api_url)
    host = (parts.hostname or "api").replace(":", "_")  # an IPv6 host
    where = host if parts.port is None else f"{host}-{parts.port}"
    return Path(results_path).with_name(f"{Path(name).stem}.{where}.state.sqlite")


def former_state_path(results_path: str | Path, source: str | Path | None = None) -> Path:
    """The default of versions before :func:`default_state_path`: beside the results, named
    after the file imported (``export.csv`` -> ``export.state.sqlite``); still used when it is
    there and the new one is not, so existing cron jobs do not create everyone again."""
    results = Path(results_path)
    return results.with_name(Path(source or results).stem + ".state.sqlite")


def state_files(path: str | Path) -> list[tuple[str, Path]]:
    """The state and the files SQLite and the lock keep beside it, named for the output guard
    (:func:`importer.core.files.check_outputs`)."""
    path = Path(path)
    return [("--state", path)] + [
        (f"--state's {what}", path.with_name(path.name + suffix))
        for what, suffix in (("journal", "-wal"), ("shared memory", "-shm"), ("lock", ".lock"))
    ]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _seconds(stamp: str) -> float:
    """One of the ledger's timestamps as Unix seconds."""
    return datetime.fromisoformat(stamp).timestamp()


#: Seconds between a run's heartbeats (``Ledger.heartbeat``).
HEARTBEAT = 1.0
#: How long after its last heartbeat a dead run may still have sent a request: two beats (one
#: missed while the loop was busy with an fsync).
ALIVE_SLACK = 2 * HEARTBEAT


@dataclass(frozen=True, slots=True)
class Entry:
    """One row key's record in the ledger."""

    key: str
    row: int
    payload_hash: str
    status: Status
    customer_id: str | None
    http_status: int | None
    attempts: int
    last_error: str | None
    log_ref: str | None
    run_id: int
    first_seen: str
    updated: str
    sent_at: str | None = None
    """When the row was last marked in flight: its request left after this."""


@dataclass(frozen=True, slots=True)
class PastRun:
    """One run as :meth:`Ledger.history` lists it; what a run of an older version did not
    record (its mapping, counts, exit code) is None."""

    id: int
    started_at: str
    finished_at: str | None
    status: RunStatus
    """``running`` for the run in progress, or one that died without a word."""
    source: str
    """The input file, as the run was given it."""
    mapping: str | None
    results: str | None
    counts: dict[str, int] | None
    """Rows by results status: created, updated, skipped, invalid, failed."""
    exit_code: int | None
    resumed: bool
    """The run before it had not finished: this one went on with its import."""
    destination: str | None
    """Where it sent (:class:`Destination`, as text); None: before destinations were recorded."""
    pid: int
    source_fingerprint: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The run in progress, and the unfinished runs it continues."""

    id: int
    started_at: str
    pid: int
    source: str
    source_fingerprint: str
    previous: PastRun | None
    """The run before this one as found (``status="running"`` means it died without a word)."""
    continues: tuple[int, ...]
    """Ids of the unfinished runs since the last finished one, newest first."""

    @property
    def resuming(self) -> bool:
        """True when the previous run did not finish: this run completes its import."""
        return bool(self.continues)

    def owns(self, entry: Entry) -> bool:
        """Whether ``entry`` was written by this import (this run or one it resumes)."""
        return entry.run_id == self.id or entry.run_id in self.continues


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One import: a run and the unfinished runs before it that it resumed (see :meth:`imports`)."""

    runs: tuple[int, ...]
    """Its runs' ids, oldest first."""
    started_at: str
    """When its first run began."""
    finished_at: str | None
    status: RunStatus
    """How its last run ended (``running``: it still runs, or died without a word)."""
    source: str
    created: int
    """Customers its runs recorded as created (those an undo deleted since included)."""
    in_flight: int
    """Rows it left in flight without a customer id: whether they were created is not known."""

    @property
    def label(self) -> str:
        """``run 3`` or ``runs 3-5``."""
        first, last = self.runs[0], self.runs[-1]
        return f"run {first}" if first == last else f"runs {first}-{last}"


UndoStatus = Literal["in_flight", "deleted", "kept", "failed"]


@dataclass(frozen=True, slots=True)
class Created:
    """A customer an import created, as the ledger knows it, for an undo."""

    customer_id: str
    key: str
    row: int
    created_run: int
    status: Status | None
    """The row's status now; None when an undo deleted the customer (its entry went with it)."""
    run_id: int | None
    """The run that wrote the row last (a later import's, if one updated it since)."""
    payload: dict[str, Any] | None
    """What the create sent (None: not recorded, by a version before undo)."""
    undone: UndoStatus | None
    """What an undo did to it so far (None: nothing yet)."""
    undo_reason: str | None = None


@dataclass(frozen=True, slots=True)
class UndoRun:
    """The undo in progress."""

    id: int
    runs: tuple[int, ...]
    """The runs of the import it undoes."""
    resuming: bool
    """The undo before it, of the same import, did not finish: this one completes it."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a state's imports send: the API, the app, and the account's user as the API tells
    it (``GET /v2/users/me``); what is not known is None (a token-only run has no app id)."""

    api_url: str
    app_id: str | None = None
    user_id: str | None = None
    user_email: str | None = None

    def __str__(self) -> str:
        known = [f"app {self.app_id}" if self.app_id else "",
                 f"user {self.user_id}" if self.user_id else "", self.user_email or ""]  # fmt: skip
        about = ", ".join(k for k in known if k)
        return f"{self.api_url} ({about})" if about else self.api_url

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Destination:
        return cls(**{k: v for k, v in json.loads(text).items() if k in cls.__slots__})


def destination_conflict(recorded: Destination, here: Destination) -> str | None:
    """What makes ``here`` another destination than ``recorded``, or None: the API URL, or an
    app id or user both know and that differ (what one does not know cannot differ)."""
    if recorded.api_url != here.api_url:
        return "another API"
    for what, mine, theirs in (("another app", recorded.app_id, here.app_id),
                               ("another user", recorded.user_id, here.user_id)):  # fmt: skip
        if mine and theirs and mine != theirs:
            return what
    return None


def destination_merged(recorded: Destination, here: Destination) -> Destination:
    """``recorded`` with what it did not know filled in from ``here`` (no conflict between them)."""
    return Destination(
        recorded.api_url,
        recorded.app_id or here.app_id,
        recorded.user_id or here.user_id,
        recorded.user_email or here.user_email,
    )


def _refuse(path: Path, why: str) -> ConfigError:
    return ConfigError(f"{path} {why}: choose another --state path")


#: On Linux ``flock`` and SQLite's POSIX locks never interact, so the database file itself is
#: locked; elsewhere (BSD, macOS) they may, so a state with several names (hard links) is refused
#: instead.
FLOCK_THE_DATABASE = sys.platform.startswith("linux")


def _acquire_lock(path: Path) -> tuple[int, ...]:
    """Lock the state for this process, whatever name it is reached by; return the descriptors.

    Two locks: ``<state>.lock`` beside the file the path resolves to (symlinks and ``..``
    followed), which holds our pid for the message, and a ``flock`` on the database file itself,
    which a hard link (another name, the same inode) cannot walk around (see
    :data:`FLOCK_THE_DATABASE`). SQLite's own locks are POSIX locks; our descriptor of the
    database is closed only after SQLite's connection (closing a descriptor drops the POSIX locks
    of the process on that file).
    """
    real = Path(os.path.realpath(path))
    lock_path = real.with_name(real.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE)
    except OSError as exc:
        raise _refuse(path, f"cannot be used ({exc.strerror})") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").split("\n")[0].strip()
        os.close(fd)
        raise StateLockedError(
            f"another import (pid {holder or 'unknown'}) is using the state file {path}: "
            "wait for it to finish, or stop it"
        ) from None
    try:
        db_fd = os.open(real, os.O_RDWR | os.O_CREAT, PRIVATE)
    except OSError as exc:
        os.close(fd)
        raise _refuse(path, f"cannot be used ({exc.strerror})") from exc
    if not FLOCK_THE_DATABASE:
        links = os.fstat(db_fd).st_nlink
        os.close(db_fd)
        if links > 1:
            os.close(fd)
            raise _refuse(path, f"has {links} names (hard links): a run through another name "
                                "would not meet this one's lock; keep one name")  # fmt: skip
        db_fd = -1
    try:
        if db_fd >= 0:
            fcntl.flock(db_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(db_fd)
        os.close(fd)
        raise StateLockedError(
            f"another import is using the state file {path} under another name (a hard link "
            "to the same file): wait for it to finish, or stop it"
        ) from None
    # Overwrite in place, then cut: a reader racing us sees a whole pid on the first line.
    pid = f"{os.getpid()}\n".encode()
    os.pwrite(fd, pid, 0)
    os.ftruncate(fd, len(pid))
    return (fd, db_fd) if db_fd >= 0 else (fd,)


#: The leases of the ledgers open in this process, by token: a lease naming this pid is live
#: only while its ledger is open (a ledger that could not clear its lease left it stale).
_LEASES_HERE: set[str] = set()

LeaseVerdict = Literal["take", "held", "elsewhere"]


@dataclass(frozen=True, slots=True)
class Lease:
    """The claim of the import writing a state, kept in the state: who holds it and since when."""

    host: str
    pid: int
    token: str
    """Random, one per open ledger: which claim is whose when pids repeat."""
    started_at: str
    process: str | None = None
    """The holder's boot and start (:func:`process_identity`): a pid reused since is not it."""

    @classmethod
    def mine(cls) -> Lease:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, secrets.token_hex(8), _now(), process_identity(pid))


def process_identity(pid: int) -> str | None:
    """``boot_id:start`` of process ``pid`` (Linux's ``/proc``), None where it cannot be read:
    the same pid after a reboot, or reused by another process, is another identity."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, after the command's name


def lease_verdict(found: Lease | None, here: Lease, holder_alive: bool) -> LeaseVerdict:
    """What a writer does with the lease it finds in the state (it holds the flocks by then):

    - none (cleared on close, or a new state): ``take`` it;
    - this host's, its holder dead (kill -9, a reboot): ``take`` it, nobody writes;
    - this host's, its holder alive: ``held``, by a writer the flocks did not meet;
    - another host's: ``elsewhere``, its holder cannot be seen from here.
    """
    if found is None:
        return "take"
    if found.host != here.host:
        return "elsewhere"
    return "held" if holder_alive else "take"


def holder_alive(lease: Lease) -> bool:
    """Whether the process of a lease taken on this host still runs (and is the same one)."""
    if lease.pid == os.getpid():
        return lease.token in _LEASES_HERE
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    now = process_identity(lease.pid)  # None: hidden from us (hidepid), so taken as alive
    return lease.process is None or now is None or now == lease.process


def _leased(path: Path, found: Lease, verdict: LeaseVerdict) -> StateLockedError:
    if verdict == "held":
        return StateLockedError(
            f"another import (pid {found.pid}) is using the state file {path}: "
            "wait for it to finish, or stop it"
        )
    clear = f"sqlite3 {shlex.quote(str(path))} 'DELETE FROM writer'"
    return StateLockedError(
        f"another import (pid {found.pid} on {found.host}, since {found.started_at}) is using "
        f"the state file {path}: wait for it to finish, or stop it; if it no longer runs, "
        f"clear its claim with: {clear}"
    )


def claim_writer(db: sqlite3.Connection, path: Path, here: Lease) -> None:
    """Take the state's lease for ``here`` (see :func:`lease_verdict`), or raise
    ``StateLockedError`` naming its holder (``ConfigError`` when SQLite cannot write it). One
    ``BEGIN IMMEDIATE`` transaction: of two writers claiming at once, SQLite lets one in and the
    other then finds its lease."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT host, pid, token, started_at, process FROM writer").fetchone()
            found = Lease(*row) if row else None
            alive = found is not None and found.host == here.host and holder_alive(found)
            verdict = lease_verdict(found, here, alive)
            if found is not None and verdict != "take":
                raise _leased(path, found, verdict)
            db.execute(
                "INSERT OR REPLACE INTO writer VALUES (1, ?, ?, ?, ?, ?)",
                (here.host, here.pid, here.token, here.started_at, here.process),
            )
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise _unusable(path, exc) from exc
        raise StateLockedError(
            f"another import is writing the state file {path}: wait for it to finish, or stop it"
        ) from None


def _unusable(path: Path, exc: sqlite3.Error) -> ConfigError:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_CORRUPT:
        return _damaged(path, str(exc))
    damaged = code == sqlite3.SQLITE_NOTADB
    return _refuse(
        path, f"{'is not an importer state file' if damaged else 'cannot be used'} ({exc})"
    )


#: How to go on when the state cannot be trusted (see :class:`DamagedStateError`).
GO_ON = (
    "restore the state file from a backup, or run with --check-existing, which looks every row "
    "up before creating it"
)


class DamagedStateError(ConfigError):
    """The state is damaged, or knows less than a results file of its import says was done."""


def _damaged(path: Path, why: str) -> DamagedStateError:
    return DamagedStateError(
        f"the state file {path} is damaged ({why}): importing now could create customers again; "
        f"move it aside, then {GO_ON}"
    )


def _connect(path: Path, source: str, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the state, refusing anything that is not one, and bring its schema up to date.

    ``readonly`` opens it read-only (``mode=ro``: nothing can be written to it); a state of an
    older schema is then copied into memory and brought up to date there."""
    try:
        if readonly:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                 isolation_level=None)  # fmt: skip
        else:
            create_private(path)  # SQLite would create it with the umask's mode
            db = sqlite3.connect(path, isolation_level=None)
    except OSError as exc:
        raise _refuse(path, f"cannot be used ({exc.strerror})") from exc
    except sqlite3.Error as exc:
        raise _unusable(path, exc) from exc
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        version = 0
        if tables:
            meta = dict(db.execute("SELECT name, value FROM meta")) if "meta" in tables else {}
            if meta.get("application") != APPLICATION:
                raise _refuse(path, "is an SQLite database but not an importer state file")
            version = int(meta["schema_version"])
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"{path} was written by a newer helpscout-importer (state schema {version}, "
                f"this one knows {SCHEMA_VERSION}): upgrade helpscout-importer"
            )
        if tables:
            verdict = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
            if verdict != ["ok"]:
                raise _damaged(path, f"quick_check: {'; '.join(map(str, verdict))}")
        if readonly and version < SCHEMA_VERSION:
            copy = sqlite3.connect(":memory:", isolation_level=None)
            db.backup(copy)
            db.close()
            db = copy
        elif not readonly:
            # Only now that the file is known to be ours (or empty) may anything change it.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA fullfsync = ON")  # macOS: make fsync reach the disk
        if version < SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            for step in MIGRATIONS[version:]:
                for statement in step:
                    db.execute(statement)
            if version == 0:
                db.execute(
                    "INSERT INTO meta VALUES ('application', ?), ('created_at', ?), ('source', ?)",
                    (APPLICATION, _now(), source),
                )
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            db.execute("COMMIT")
    except sqlite3.Error as exc:
        db.close()
        raise _unusable(path, exc) from exc
    except BaseException:
        db.close()
        raise
    return db


class Ledger:
    """The state of imports into one results file: rows, their outcomes, and the runs."""

    def __init__(
        self,
        path: Path,
        db: sqlite3.Connection,
        lock_fds: tuple[int, ...],
        *,
        source: str,
        settle_batch: int,
        settle_interval: float,
        clock: Callable[[], float],
    ) -> None:
        """Use ``Ledger.open``; this only assembles what it prepared."""
        self.path = path
        self._db = db
        self._lock_fds = lock_fds
        self._destination: Destination | None = None
        self._source = source
        self._settle_batch = settle_batch
        self._settle_interval = settle_interval
        self._clock = clock
        self._last_commit = clock()
        self._pending: dict[str, tuple[Any, ...]] = {}
        self._closed = False
        self._lease: Lease | None = None
        self.run: RunInfo | None = None
        self.undo: UndoRun | None = None
        self.readonly = False
        """Opened ``readonly``: every write raises RuntimeError."""

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        source: str,
        lock: bool = True,
        readonly: bool = False,
        settle_batch: int = 200,
        settle_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> Ledger:
        """Open (creating or upgrading) the state at ``path`` for a run on ``source``.

        ``lock`` takes the run's exclusive lock and the writer's lease (``StateLockedError`` if
        another process holds either);
        a corrupt or foreign file raises ``ConfigError``. ``clock`` times ``settle_interval``.
        ``readonly`` (a dry run's plan) takes no lock and writes nothing, not even a schema
        upgrade: the state must exist (``ConfigError`` otherwise); a write raises RuntimeError.
        """
        path = Path(path)
        if readonly and not path.is_file():
            raise _refuse(path, "does not exist")
        lock_fds = _acquire_lock(path) if lock and not readonly else ()
        lease = Lease.mine() if lock_fds else None
        try:
            db = _connect(path, source, readonly=readonly)
            try:
                if lease is not None:
                    claim_writer(db, path, lease)
            except BaseException:
                db.close()
                raise
        except BaseException:
            for fd in lock_fds:
                os.close(fd)
            raise
        ledger = cls(
            path,
            db,
            lock_fds,
            source=source,
            settle_batch=settle_batch,
            settle_interval=settle_interval,
            clock=clock,
        )
        ledger.readonly = readonly
        if lease is not None:
            ledger._lease = lease
            _LEASES_HERE.add(lease.token)
        return ledger

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def source(self) -> str:
        """The source file this state was created for (the caller's may differ: allowed)."""
        return self._db.execute("SELECT value FROM meta WHERE name = 'source'").fetchone()[0]

    @property
    def schema_version(self) -> int:
        """The state's schema version (``SCHEMA_VERSION`` once opened)."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        return int(row[0])

    @property
    def destination(self) -> Destination | None:
        """Where this state's imports send (None: not recorded yet, or by an older version)."""
        found = self._db.execute("SELECT value FROM meta WHERE name = 'destination'").fetchone()
        return Destination.from_json(found[0]) if found else None

    def bind(self, here: Destination) -> str | None:
        """Guard the state's destination: the first one it meets is recorded, and any other
        (:func:`destination_conflict`) is refused with ``ConfigError``, before anything is sent
        or written: trusting rows settled in another account would skip (or, for an undo,
        delete) the wrong customers. Returns a note when a state that has runs but no recorded
        destination (an older version's) adopts ``here``. A read-only state records nothing.
        """
        recorded = self.destination
        if recorded is not None and (why := destination_conflict(recorded, here)):
            raise ConfigError(
                f"the state file {self.path} belongs to the imports into {recorded}, and this "
                f"run goes to {here} ({why}): its records would skip or undo customers that "
                "are not there. Point the run back at that destination, or give this one its "
                "own state (--state NEW.state.sqlite, or leave --state out: the default is "
                "named after the destination)"
            )
        bound = here if recorded is None else destination_merged(recorded, here)
        self._destination = bound
        if bound != recorded and not self.readonly:
            with self._transaction():
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('destination', ?)", (bound.to_json(),)
                )
        if recorded is None and not self.is_new:
            return (
                f"the state file {self.path} did not record where its imports went (an older "
                f"version wrote it): it belongs to {here} from now on"
            )
        return None

    # --- runs -----------------------------------------------------------------------------------

    def begin_run(self, source_fingerprint: str) -> RunInfo:
        """Record the start of a run and tell whether it resumes an unfinished one."""
        if self.run is not None:
            raise RuntimeError("begin_run() was already called on this ledger")
        preview = self.preview_run(source_fingerprint)
        bound = None if self._destination is None else str(self._destination)
        with self._transaction():
            # We hold the lock, so a run still marked running is dead.
            self._db.execute("UPDATE runs SET status = 'stopped' WHERE status = 'running'")
            run_id = self._db.execute(
                "INSERT INTO runs (started_at, pid, status, source, source_fingerprint, "
                "destination) VALUES (?, ?, 'running', ?, ?, ?)",
                (preview.started_at, preview.pid, self._source, source_fingerprint, bound),
            ).lastrowid
        assert run_id is not None
        self.run = dataclasses.replace(preview, id=run_id)
        return self.run

    def preview_run(self, source_fingerprint: str) -> RunInfo:
        """The run :meth:`begin_run` would begin now (its id the next one), recording nothing:
        what a dry run plans with."""
        newest = self._runs(limit=1)
        previous = newest[0] if newest else None
        continues = tuple(
            r[0]
            for r in self._db.execute(
                "SELECT id FROM runs WHERE id > "
                "(SELECT COALESCE(MAX(id), 0) FROM runs WHERE status = 'finished') ORDER BY id DESC"
            )
        )
        next_id = (previous.id if previous else 0) + 1
        return RunInfo(
            next_id, _now(), os.getpid(), self._source, source_fingerprint, previous, continues
        )

    def finish_run(self, status: Literal["finished", "stopped"]) -> None:
        """Write the buffered settles and record how the run ended."""
        if status not in ("finished", "stopped"):
            raise ValueError(f"a run ends 'finished' or 'stopped', not {status!r}")
        self._update_run(status=status, finished_at=_now())

    def heartbeat(self) -> None:
        """Record that this run is alive now (see :meth:`unsure_since`); call every
        :data:`HEARTBEAT` seconds while requests may leave."""
        self._update_run(alive_at=_now())

    def record_results(self, path: str | Path) -> None:
        """Record the results file this run writes (see :meth:`results_files`)."""
        self._update_run(results=str(path))

    def record_mapping(self, path: str | Path) -> None:
        """Record the mapping this run reads, as given (what :meth:`history` lists)."""
        self._update_run(mapping=str(path))

    def record_outcome(self, counts: Mapping[str, int], exit_code: int) -> None:
        """Record this run's rows by results status and its exit code (before finish_run)."""
        self._update_run(counts=json.dumps(dict(counts)), exit_code=exit_code)

    def _update_run(self, **columns: object) -> None:
        """Set ``columns`` (names from this module, never from input) of this run's line."""
        assigned = ", ".join(f"{name} = ?" for name in columns)
        with self._transaction():
            self._db.execute(
                f"UPDATE runs SET {assigned} WHERE id = ?", (*columns.values(), self._run_id())
            )

    def history(self) -> list[PastRun]:
        """Every run this state has seen, newest first."""
        self.flush()
        return self._runs()

    def _runs(self, limit: int = -1) -> list[PastRun]:
        """The newest ``limit`` runs (-1: all), newest first."""
        names = _RUN_COLUMNS.split(", ")
        # one run more than asked: whether a run resumed is told by the run before it
        found = [
            dict(zip(names, line, strict=True))
            for line in self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?",
                (limit + 1 if limit >= 0 else -1,),
            )
        ]
        runs = []
        for run, before in itertools.zip_longest(found, found[1:]):
            run["counts"] = json.loads(run["counts"]) if run["counts"] else None
            resumed = before is not None and before["status"] != "finished"
            runs.append(PastRun(**run, resumed=resumed))
        return runs[:limit] if limit >= 0 else runs

    def results_files(self) -> list[Path]:
        """The results file the latest earlier run that recorded one wrote (none: [])."""
        found = self._db.execute(
            "SELECT results FROM runs WHERE results IS NOT NULL AND id != ? "
            "ORDER BY id DESC LIMIT 1",
            (self.run.id if self.run else 0,),
        ).fetchone()
        return [Path(found[0])] if found else []

    @property
    def is_new(self) -> bool:
        """No run has used this state yet (it was just created, or emptied)."""
        return self._db.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is None

    def unsure_since(self, entry: Entry) -> float:
        """The latest time (Unix seconds) a request for ``entry`` may have reached Help Scout.

        A request for a row leaves after its mark and before its run ended: when the run ended
        (``finished_at``), or, for a run that died (killed, power cut), its last heartbeat plus
        :data:`ALIVE_SLACK`. A run that left no trace of its end (written by a version before
        heartbeats): now, which is never too early.
        """
        found = self._db.execute(
            "SELECT finished_at, alive_at FROM runs WHERE id = ?", (entry.run_id,)
        ).fetchone()
        finished, alive = found if found else (None, None)
        if finished:
            until = _seconds(finished)
        elif alive:
            until = _seconds(alive) + ALIVE_SLACK
        else:
            until = time.time()
        return max(until, _seconds(entry.sent_at) if entry.sent_at else 0.0)

    def unknown_customers(
        self, listed: Iterable[tuple[int, str]]
    ) -> tuple[int, list[tuple[int, str]]]:
        """Of ``listed`` (row, customer id) pairs from a results file of this import, those this
        state neither holds (no entry has the id, and no undo took it back) nor has in flight at
        that row (a kill between the results line and the settle): how many, and the first few.

        A state that knows less than its results file was deleted, emptied or damaged since.
        """
        db = self._db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS listed (row INTEGER, customer_id TEXT)")
        db.execute("DELETE FROM temp.listed")
        db.executemany("INSERT INTO temp.listed VALUES (?, ?)", listed)  # streamed: one at a time
        # rows has no index on these columns (settles would pay for one): temporary ones
        db.execute("CREATE TEMP TABLE known AS SELECT customer_id FROM rows WHERE customer_id "
                   "IS NOT NULL UNION SELECT customer_id FROM undone")  # fmt: skip
        db.execute("CREATE INDEX temp.known_id ON known (customer_id)")
        db.execute("CREATE TEMP TABLE flying AS SELECT row FROM rows WHERE status = 'in_flight'")
        db.execute("CREATE INDEX temp.flying_row ON flying (row)")
        try:
            unknown = db.execute(
                "SELECT l.row, l.customer_id FROM temp.listed l "
                "WHERE NOT EXISTS (SELECT 1 FROM temp.known k WHERE k.customer_id = l.customer_id)"
                " AND NOT EXISTS (SELECT 1 FROM temp.flying f WHERE f.row = l.row) ORDER BY l.row"
            ).fetchall()
        finally:
            for table in ("listed", "known", "flying"):
                db.execute(f"DROP TABLE temp.{table}")
        return len(unknown), [(int(row), str(cid)) for row, cid in unknown[:3]]

    # --- rows -----------------------------------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        """The entries of those ``keys`` the ledger knows, by key (unknown keys are absent)."""
        self.flush()
        found: dict[str, Entry] = {}
        for start in range(0, len(keys), GET_MANY_CHUNK):
            chunk = keys[start : start + GET_MANY_CHUNK]
            marks = ",".join("?" * len(chunk))
            for entry in self._entries(f"WHERE key IN ({marks})", tuple(chunk)):
                found[entry.key] = entry
        return found

    def in_flight(self) -> list[Entry]:
        """Rows sent (or about to be) whose outcome was never recorded: reconcile these first."""
        self.flush()
        return list(self._entries("WHERE status = 'in_flight' ORDER BY row"))

    def failed(self) -> list[Entry]:
        """Rows whose last attempt failed, for ``--retry-failed``."""
        self.flush()
        return list(self._entries("WHERE status = 'failed' ORDER BY row"))

    def counts(self) -> dict[Status, int]:
        """How many rows have each status (every status present, zero included)."""
        self.flush()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update(self._db.execute("SELECT status, COUNT(*) FROM rows GROUP BY status"))
        return counts

    def mark_in_flight(self, items: Sequence[tuple[str, int, str]]) -> None:
        """Record ``(key, row, payload_hash)`` rows as about to be sent, durably, before sending.

        ``payload_hash`` is stored for a key the ledger does not know yet; a known key keeps its
        hash until a settle gives a new one. Committed with ``synchronous=FULL`` together with
        the buffered settles: once this returns, a crash or power loss cannot make the ledger
        forget these rows.
        """
        run_id = self._run_id()
        now = _now()
        params = [(key, row, digest, run_id, now, now, now) for key, row, digest in items]
        with self._transaction(durable=True):
            self._db.executemany(_MARK_SQL, params)

    def settle(
        self,
        key: str,
        *,
        status: SettledStatus,
        attempts: int,
        customer_id: str | None = None,
        http_status: int | None = None,
        error: str | None = None,
        log_ref: str | None = None,
        row: int | None = None,
        payload_hash: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a row's outcome (buffered: docs/internals.md#exactly-once says when it commits).

        ``key`` must be in the ledger already (marked in flight, now or by an earlier run).
        ``attempts`` is the requests this run sent for the row; ``error`` the message, or a skip's
        reason. ``customer_id``, ``row`` and ``payload_hash`` left ``None`` keep their values.
        ``created`` records the run as the customer's creator (``created_run``, once) and
        ``payload``, what the create sent (``created_payload``), for an undo to compare with.
        """
        if status not in SETTLED_STATUSES:
            raise ValueError(
                f"cannot settle {key!r} as {status!r}: one of {sorted(SETTLED_STATUSES)}"
            )
        if (
            key not in self._pending
            and not self._db.execute("SELECT 1 FROM rows WHERE key = ?", (key,)).fetchone()
        ):
            raise ValueError(f"cannot settle {key!r}: it was never marked in flight")
        self._pending[key] = (
            status,
            customer_id,
            http_status,
            redact(error) if error else error,  # belt and braces: see importer.core.redact
            redact(log_ref) if log_ref else log_ref,
            attempts,
            row,
            payload_hash,
            self._run_id(),
            None if payload is None else _canonical(payload),
        )
        if (
            len(self._pending) >= self._settle_batch
            or self._clock() - self._last_commit >= self._settle_interval
        ):
            self.flush()

    def flush(self) -> None:
        """Commit the buffered settles now."""
        if self._pending:
            with self._transaction():
                pass  # the transaction writes the buffer

    def close(self) -> None:
        """Write what is buffered, record an unfinished run as stopped, and release the lock
        and the lease (one that cannot be cleared, the disk full, is stale once we are gone)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.run is not None or self._lease is not None:
                with self._transaction():
                    if self.run is not None:
                        self._db.execute(
                            "UPDATE runs SET status = 'stopped', finished_at = ? "
                            "WHERE id = ? AND status = 'running'",
                            (_now(), self.run.id),
                        )
                    if self._lease is not None:
                        self._db.execute("DELETE FROM writer WHERE token = ?", (self._lease.token,))
        finally:
            if self._lease is not None:
                _LEASES_HERE.discard(self._lease.token)
            self._db.close()
            for fd in self._lock_fds:
                os.close(fd)  # releases the flocks (the database's last: see _acquire_lock)

    # --- undos ----------------------------------------------------------------------------------

    def imports(self) -> list[ImportRecord]:
        """The imports this state has seen, oldest first: each a run and the unfinished runs
        before it, which it resumed (a finished run ends an import)."""
        db = self._db
        created = Counter[int]()
        created.update(dict(db.execute(
            "SELECT created_run, COUNT(*) FROM rows WHERE created_run IS NOT NULL "
            "GROUP BY created_run")))  # fmt: skip
        created.update(dict(db.execute(
            "SELECT created_run, COUNT(*) FROM undone WHERE status = 'deleted' "
            "GROUP BY created_run")))  # fmt: skip
        flying = dict(db.execute(
            "SELECT run_id, COUNT(*) FROM rows WHERE status = 'in_flight' AND customer_id IS NULL "
            "GROUP BY run_id"))  # fmt: skip
        found: list[ImportRecord] = []
        group: list[tuple[Any, ...]] = []
        runs = db.execute(
            "SELECT id, started_at, finished_at, status, source FROM runs ORDER BY id"
        )
        for run in [*runs, None]:
            if run is not None:
                group.append(run)
            if group and (run is None or run[3] == "finished"):
                ids = tuple(r[0] for r in group)
                last = group[-1]
                found.append(ImportRecord(
                    ids, group[0][1], last[2], last[3], last[4],
                    sum(created[i] for i in ids), sum(flying.get(i, 0) for i in ids)))  # fmt: skip
                group = []
        return found

    def undo_targets(
        self, runs: Sequence[int], only: Iterable[str] | None = None
    ) -> tuple[int, int]:
        """Gather the customers that the runs ``runs`` created (those an undo deleted included),
        in row order, for :meth:`undo_batch`; ``only`` keeps those of these customer ids.
        Returns how many, and how many of them an undo deleted already. Nothing is written but
        temporary tables (read-only states too)."""
        db = self._db
        marks = ",".join("?" * len(runs))
        db.execute("DROP TABLE IF EXISTS temp.undo_targets")
        db.execute("CREATE TEMP TABLE undo_targets (seq INTEGER PRIMARY KEY, row INTEGER, "
                   "customer_id TEXT, key TEXT)")  # fmt: skip
        db.execute("DROP TABLE IF EXISTS temp.undo_only")
        if only is not None:
            db.execute("CREATE TEMP TABLE undo_only (customer_id TEXT PRIMARY KEY)")
            db.executemany("INSERT OR IGNORE INTO temp.undo_only VALUES (?)",
                           ((str(c),) for c in only))  # fmt: skip
        only_listed = " AND customer_id IN (SELECT customer_id FROM temp.undo_only)"
        keep = only_listed if only is not None else ""
        db.execute(
            "INSERT INTO temp.undo_targets (row, customer_id, key) SELECT row, customer_id, key "
            f"FROM (SELECT row, customer_id, key FROM rows WHERE created_run IN ({marks}) "
            f"AND customer_id IS NOT NULL{keep} UNION SELECT row, customer_id, key FROM undone "
            f"WHERE created_run IN ({marks}) AND status = 'deleted'{keep}) "
            "ORDER BY row, customer_id",
            (*runs, *runs),
        )
        count, deleted = db.execute(
            "SELECT COUNT(*), COUNT(u.customer_id) FROM temp.undo_targets t LEFT JOIN undone u "
            "ON u.customer_id = t.customer_id AND u.status = 'deleted'"
        ).fetchone()
        return int(count), int(deleted)

    def undo_batch(self, start: int, size: int) -> list[Created]:
        """Customers ``start`` (0-based) to ``start + size`` of :meth:`undo_targets`'s, with what
        the ledger knows of each."""
        self.flush()
        found = self._db.execute(
            "SELECT t.customer_id, t.key, t.row, COALESCE(r.created_run, u.created_run), "
            "r.status, r.run_id, r.created_payload, u.status, u.reason "
            "FROM temp.undo_targets t LEFT JOIN rows r ON r.key = t.key "
            "AND r.customer_id = t.customer_id LEFT JOIN undone u ON u.customer_id = t.customer_id "
            "WHERE t.seq > ? AND t.seq <= ? ORDER BY t.seq",
            (start, start + size),
        )
        return [
            Created(cid, key, row, run, now, last, json.loads(sent) if sent else None, done, why)
            for cid, key, row, run, now, last, sent, done, why in found
        ]

    def begin_undo(self, runs: Sequence[int], results: str | Path | None = None) -> UndoRun:
        """Record the start of an undo of the import of ``runs`` (writing ``results``)."""
        listed = ",".join(map(str, runs))
        previous = self._db.execute(
            "SELECT runs, status FROM undos ORDER BY id DESC LIMIT 1"
        ).fetchone()
        resuming = previous is not None and previous[0] == listed and previous[1] != "finished"
        with self._transaction():
            self._db.execute("UPDATE undos SET status = 'stopped' WHERE status = 'running'")
            undo_id = self._db.execute(
                "INSERT INTO undos (started_at, pid, status, runs, results) "
                "VALUES (?, ?, 'running', ?, ?)",
                (_now(), os.getpid(), listed, None if results is None else str(results)),
            ).lastrowid
        assert undo_id is not None
        self.undo = UndoRun(undo_id, tuple(runs), resuming)
        return self.undo

    def finish_undo(self, status: Literal["finished", "stopped"]) -> None:
        """Record how the undo ended."""
        with self._transaction():
            self._db.execute(
                "UPDATE undos SET status = ?, finished_at = ? WHERE id = ?",
                (status, _now(), self._undo_id()),
            )

    def mark_undo(self, customers: Sequence[Created]) -> None:
        """Record ``customers`` as about to be undone, durably, before any request for them."""
        undo_id, now = self._undo_id(), _now()
        params = [(c.customer_id, c.key, c.row, c.created_run, undo_id, now) for c in customers]
        with self._transaction(durable=True):
            self._db.executemany(
                "INSERT INTO undone (customer_id, key, row, created_run, status, undo_id, updated) "
                "VALUES (?, ?, ?, ?, 'in_flight', ?, ?) ON CONFLICT (customer_id) DO UPDATE SET "
                "status = 'in_flight', undo_id = excluded.undo_id, updated = excluded.updated",
                params,
            )

    def settle_undo(
        self,
        customer: Created,
        *,
        status: Literal["deleted", "kept", "failed"],
        attempts: int,
        reason: str = "",
        http_status: int | None = None,
        error: str | None = None,
        log_ref: str | None = None,
    ) -> None:
        """Record what the undo did to ``customer`` (committed at once). A deleted customer's row
        leaves ``rows`` in the same transaction: a later import creates it again."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO undone (customer_id, key, row, created_run, status, reason, "
                "http_status, attempts, error, log_ref, undo_id, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer_id) DO UPDATE "
                "SET status = excluded.status, reason = excluded.reason, "
                "http_status = excluded.http_status, attempts = excluded.attempts, "
                "error = excluded.error, log_ref = excluded.log_ref, undo_id = excluded.undo_id, "
                "updated = excluded.updated",
                (customer.customer_id, customer.key, customer.row, customer.created_run, status,
                 reason or None, http_status, attempts, redact(error) if error else None,
                 redact(log_ref) if log_ref else None, self._undo_id(), _now()),
            )  # fmt: skip
            if status == "deleted":
                self._db.execute(
                    "DELETE FROM rows WHERE key = ? AND customer_id = ?",
                    (customer.key, customer.customer_id),
                )

    # --- internals ------------------------------------------------------------------------------

    def _undo_id(self) -> int:
        if self.undo is None:
            raise RuntimeError("call begin_undo() before recording what an undo does")
        return self.undo.id

    def _run_id(self) -> int:
        if self.run is None:
            raise RuntimeError("call begin_run() before writing rows or ending the run")
        return self.run.id

    def _entries(self, where: str, params: tuple[Any, ...] = ()) -> Iterator[Entry]:
        for found in self._db.execute(f"SELECT {_ENTRY_COLUMNS} FROM rows {where}", params):
            yield Entry(*found)

    @contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[None]:
        """One write transaction, buffered settles first; ``durable`` commits with an fsync.

        The buffer is emptied only once committed. SQLite unable to write (disk full, I/O error,
        read-only) becomes ``RunStopped``: the run cannot go on, and the same command resumes it.
        """
        if self.readonly:
            raise RuntimeError(f"{self.path} was opened read-only: nothing may be written")
        db = self._db
        try:
            if durable:
                db.execute("PRAGMA synchronous = FULL")  # not allowed inside a transaction
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._pending:
                    now = _now()
                    db.executemany(
                        _SETTLE_SQL, [(*values, now, key) for key, values in self._pending.items()]
                    )
                yield
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                if durable:
                    db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in _CANNOT_WRITE:
                raise
            raise RunStopped(
                f"cannot write the state file {self.path} ({exc}): "
                "fix that, then run the same command again to resume"
            ) from exc
        self._pending.clear()
        self._last_commit = self._clock()
