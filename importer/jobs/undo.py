"""Undo an import: delete the customers the ledger records as created by it, and nothing else.

:func:`undo_import` is ``helpscout-import undo``. Help Scout's delete is hard: the customer's
conversations go with it and nothing brings them back, so the undo deletes only what it can prove
is the import's own, unchanged and alone. Which customers: those the import's runs recorded as
``created`` (:func:`undo_import`); what keeps one, read first: :func:`undo_action` (the ledger
alone) and :func:`keep_reason` (Help Scout's answer), pure and tested as tables; how each is read,
deleted and settled: :class:`Undoer`, paced, retried and resumable as ``run`` is. The results
have the import's columns, a line per customer in input row order: ``deleted``, ``kept`` (why in
``reason`` and ``error``) or ``failed``; a dry run says ``planned``, sends only reads and writes
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from yarl import URL

from importer.core.errors import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    EXIT_STOPPED,
    ApiError,
    AuthError,
    ConfigError,
    NotConfirmed,
    RunStopped,
    TransportError,
)
from importer.core.files import check_outputs, check_recorded_results
from importer.core.options import DEFAULT_UNDO, UndoOptions
from importer.core.text import plural
from importer.jobs.context import JobContext
from importer.jobs.importing import workers_of
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient, Sends
from importer.send.diff import additions, changes_for
from importer.send.ledger import Created, ImportRecord, Ledger, state_files
from importer.send.pacing import PLAN_BUDGETS, budget_seconds, duration
from importer.send.results import Outcome, ResultsWriter, Status, listed_customers
from importer.send.tally import Tally, refused_or_stopped
from importer.send.workers import ROW_TIMEOUT, Unknown, Workers, error_text

__all__ = [
    "CLOCK_SKEW",
    "EDIT_SLACK",
    "UndoResult",
    "UndoScope",
    "UndoTally",
    "Undoer",
    "default_results_path",
    "keep_reason",
    "undo_action",
    "undo_import",
]

#: Seconds ``updatedAt`` may follow ``createdAt`` in a customer nobody changed since (a create
#: that adds entries moves it a little).
EDIT_SLACK = 10.0
#: Seconds Help Scout's clock may be behind this machine's: a customer created more than this
#: before the import began is not the import's.
CLOCK_SKEW = 600.0
#: Deletes refused (403) in a row before the undo stops: the app's user may not delete customers.
REFUSED = 20
#: Customers a batch of the ledger holds.
BATCH = 500
#: Reads an undo sends per customer: the customer, its conversations.
READS_PER_CUSTOMER = 2

KEPT = {
    "later-import": "a later import of this state has written it since ({why})",
    "created-before": "created {why}, before this import began: not this import's",
    "edited": "edited since the import (updatedAt {why})",
    "changed": "it was changed since the import ({why})",
    "unverifiable": "Help Scout's answer has no {why} to tell whether it changed since",
    "conversations": "it has {why}, which Help Scout's delete would take along",
}
"""What the results say of each reason a customer is kept (``error``, with ``why`` filled in)."""


# --- decisions -----------------------------------------------------------------------------------
def undo_action(
    created: Created, runs: Sequence[int]
) -> tuple[Literal["recorded", "keep", "check"], str]:
    """What to do with a customer the import created, from the ledger alone: ``("recorded",
    "")`` when an undo deleted it already (reported, nothing sent); ``("keep", why)`` when a
    later import wrote its row since (``later-import``); ``("check", "")`` otherwise (read it,
    then delete or keep: also when an earlier undo kept it, failed, or left it in flight)."""
    if created.undone == "deleted":
        return "recorded", ""
    if created.status != "created" or created.run_id not in runs:
        return "keep", f"run {created.run_id} left it {created.status}"
    return "check", ""


def keep_reason(
    customer: Mapping[str, Any],
    sent: Mapping[str, Any] | None,
    *,
    import_began: float,
    edit_slack: float = EDIT_SLACK,
    skew: float = CLOCK_SKEW,
) -> tuple[str, str] | None:
    """Why ``customer`` (as ``GET`` answers it) must be kept, as (reason, detail), or None when
    it is as the import left it; ``sent`` is what its create sent (None: not recorded), and
    ``import_began`` when the import's first run began (Unix seconds). Kept, never deleted:

    - ``unverifiable``: the answer has no ``createdAt``/``updatedAt`` to tell by;
    - ``created-before``: ``createdAt`` is more than ``skew`` (:data:`CLOCK_SKEW`) before the
      import began: not this import's (an earlier run took it for a create whose answer was lost);
    - ``edited``: ``updatedAt`` is more than ``edit_slack`` (:data:`EDIT_SLACK`) after
      ``createdAt`` (Help Scout moves it on every change): someone changed it since. Both times
      come from the same answer, so this machine's clock never meets Help Scout's;
    - ``changed``: it no longer holds what the create sent (compared as an update compares,
      :func:`~importer.send.diff.changes_for`), or holds what it did not send
      (:func:`~importer.send.diff.additions`): an edit the two times cannot show.

    (``later-import`` comes from the ledger, :func:`undo_action`; ``conversations`` from a read
    of them, :class:`Undoer`.)"""
    created, updated = _stamp(customer.get("createdAt")), _stamp(customer.get("updatedAt"))
    if created is None or updated is None:
        return "unverifiable", "createdAt and updatedAt"
    if created < import_began - skew:
        return "created-before", str(customer["createdAt"])
    if updated > created + edit_slack:
        seconds = updated - created
        return "edited", f"{customer['updatedAt']}, {seconds:,.0f} s after it was created"
    if sent is not None:
        differ = list(dict.fromkeys(c.what for c in changes_for(customer, sent)))
        added = additions(customer, sent)
        if differ or added:
            parts = [f"{', '.join(differ)} not as sent"] * bool(differ)
            parts += [f"{', '.join(added)} not sent by the import"] * bool(added)
            return "changed", "; ".join(parts)
    return None


def _stamp(value: Any) -> float | None:
    """An ISO 8601 time (``2026-01-02T03:04:05Z``) as Unix seconds; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.timestamp() if stamp.tzinfo is not None else None


# --- the workers' part ---------------------------------------------------------------------------
@dataclass
class UndoTask:
    """A customer to read, then delete or keep."""

    created: Created
    marked: bool = False
    attempts: int = 0
    sends: Sends = field(default_factory=Sends)
    refusal: AuthError | None = None

    @property
    def row(self) -> int:
        return self.created.row


@dataclass
class UndoTally(Tally):
    """Customers by outcome so far, and what it took; in a dry run, by what would happen."""

    deleted: int = 0
    kept: int = 0
    planned: int = 0
    """A dry run's customers to delete (``kept``: those it would keep)."""
    earlier: int = 0
    """Of ``deleted``, those an earlier undo deleted (reported, nothing sent)."""
    dry_run: bool = False

    def count(self, outcome: Outcome) -> None:
        if outcome.status != "planned" or outcome.reason == "delete":
            super().count(outcome)
            return
        self.rows += 1
        if outcome.reason == "already-deleted":
            self.deleted += 1
        else:
            self.kept += 1

    def line(self) -> str:
        """The console's closing line."""
        parts = [f"{self.deleted:,} deleted" + (f" ({self.earlier:,} by an earlier undo)"
                                                if self.earlier else "")]  # fmt: skip
        if self.dry_run:
            parts = [f"{self.planned:,} to delete", f"{self.kept:,} to keep"]
            if self.deleted:
                parts.append(f"{self.deleted:,} deleted already")
        else:
            parts.append(f"{self.kept:,} kept")
        parts.append(f"{self.failed:,} failed")
        return f"{plural(self.rows, 'customer')}: {', '.join(parts)}."


class Undoer(Workers[UndoTask]):
    """Reads, then deletes or keeps, each customer of the import.

    A customer that passes :func:`keep_reason` is kept when
    ``GET /v2/conversations?query=(customerIds:ID)&status=all`` lists or counts any
    (``conversations``), else deleted at once: ``DELETE ...?async=true``, 202 (or 204) is done,
    404 is ``already-deleted`` (so is a 404 to the first read: no failure), 403 is ``failed``
    (:data:`REFUSED` in a row stop the undo); a delete that got no answer is settled by a
    ``GET``: 404 is ``deleted``, still there is unknown (``failed``, left in flight in the
    ledger, read again by the next undo). The same client and workers as an import
    (:class:`~importer.send.workers.Workers`: input order, a clean stop, each customer marked in
    flight, durably, before its first request); the ledger records the undo (``undos``) and each
    outcome (``undone``). Stopped, the same command resumes: customers deleted are reported as
    recorded, the others read again. A deleted customer's row leaves the ledger's
    rows in the same transaction, so a later import of the file creates it again.

    ``ledger`` must have an undo begun (``begin_undo``), unless ``dry_run`` (which writes
    nothing); ``batches`` for :meth:`run` are ``(start, size)`` ranges of the ledger's
    :meth:`~importer.send.ledger.Ledger.undo_targets`.
    """

    cut_off_reason = "its delete may have been carried out; run the same command, which reads it"
    tally: UndoTally

    def __init__(
        self,
        client: HelpScoutClient,
        results: ResultsWriter,
        ledger: Ledger,
        target: ImportRecord,
        *,
        concurrency: int,
        dry_run: bool = False,
        progress: Callable[[Tally], None] | None = None,
        notice: Callable[[str], None] | None = None,
        row_timeout: float = ROW_TIMEOUT,
    ) -> None:
        if ledger.undo is None and not dry_run:
            raise RuntimeError("begin the ledger's undo before undoing")
        super().__init__(client, results, concurrency=concurrency, tally=UndoTally(dry_run=dry_run),
                         progress=progress, notice=notice, row_timeout=row_timeout)  # fmt: skip
        self.ledger = ledger
        self.target = target
        self.dry_run = dry_run
        self.import_began = datetime.fromisoformat(target.started_at).timestamp()
        self._refused_in_a_row = 0

    async def _plan(self, batch: tuple[int, int]) -> list[UndoTask | Outcome]:
        planned: list[UndoTask | Outcome] = []
        for created in self.ledger.undo_batch(*batch):
            action, why = undo_action(created, self.target.runs)
            if action == "recorded":
                self.tally.earlier += 1
                planned.append(self._line(created, "deleted", reason=created.undo_reason or ""))
            elif action == "keep":
                planned.append(self._keep(created, "later-import", why, 0))
            else:
                planned.append(UndoTask(created))
        return planned

    def _record_in_flight(self, tasks: list[UndoTask]) -> None:
        if not self.dry_run:
            self.ledger.mark_undo([t.created for t in tasks])

    def _failure(
        self,
        task: UndoTask,
        error: str,
        *,
        http_status: int | None = None,
        log_ref: str | None = None,
    ) -> Outcome:
        """A customer whose fate is unknown or that was not reached: left as the ledger has it
        (in flight, when a request left for it), for the next undo to read again."""
        attempts = max(task.attempts, task.sends.count)
        return self._line(task.created, "failed", http_status=http_status, error=error,
                          log_ref=log_ref, attempts=attempts)  # fmt: skip

    async def _perform(self, task: UndoTask) -> Outcome:
        customer_id = task.created.customer_id
        reply = await self.client.request("GET", f"/v2/customers/{customer_id}")
        if reply.status == 404:
            return self._settle(task, "deleted", "already-deleted", http_status=404)
        if reply.error is not None or not isinstance(reply.body, dict):
            return self._failed(task, reply.error, reply.status, "reading it")
        kept = keep_reason(reply.body, task.created.payload, import_began=self.import_began)
        if kept is not None:
            return self._keep(task.created, *kept, task.sends.count)
        try:
            count = await self.client.conversation_count(customer_id)
        except AuthError:
            raise
        except (ApiError, TransportError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 0
            return self._failed(task, exc, status, "reading its conversations")
        if count:
            why = plural(count, "conversation")
            return self._keep(task.created, "conversations", why, task.sends.count)
        if self.dry_run:
            return self._line(task.created, "planned", reason="delete", attempts=task.sends.count)
        return await self._delete(task)

    async def _delete(self, task: UndoTask) -> Outcome:
        customer_id = task.created.customer_id
        try:
            reply = await self.client.delete_customer(customer_id)
        except AuthError as refusal:
            if refusal.status != 403:
                raise
            return self._refused(task, refusal)
        self._refused_in_a_row = 0
        if reply.status in (200, 202, 204):
            return self._settle(task, "deleted", "", http_status=reply.status)
        if reply.status == 404:
            return self._settle(task, "deleted", "already-deleted", http_status=404)
        if reply.status != 0:
            return self._failed(task, reply.error, reply.status, "deleting it")
        check = await self.client.request("GET", f"/v2/customers/{customer_id}")
        if check.status == 404:
            return self._settle(task, "deleted", "", http_status=404)
        raise Unknown(
            f"the delete got no answer ({reply.error}) and Help Scout still has the customer: "
            "its delete may be under way; run the same command, which reads it again"
        )

    def _refused(self, task: UndoTask, refusal: AuthError) -> Outcome:
        self._refused_in_a_row += 1
        if self._refused_in_a_row >= REFUSED:
            raise RunStopped(
                f"Help Scout refused {self._refused_in_a_row} deletes in a row (403 Forbidden): "
                "check that the app's user may delete customers and sees every mailbox"
            )
        error = (
            "Help Scout refused the delete (403): the app's user cannot see every conversation "
            "of this customer, or may not delete customers"
        )
        return self._settle(task, "failed", "", http_status=403, error=error,
                            log_ref=refusal.log_ref)  # fmt: skip

    def _failed(
        self, task: UndoTask, error: ApiError | TransportError | None, status: int, doing: str
    ) -> Outcome:
        said = error_text(error) or f"HTTP {status}, not a customer"
        text = f"{doing} failed ({said}): nothing was deleted"
        log_ref = error.log_ref if isinstance(error, ApiError) else None
        return self._settle(task, "failed", "", http_status=status or None, error=text,
                            log_ref=log_ref)  # fmt: skip

    def _keep(self, created: Created, reason: str, why: str, attempts: int) -> Outcome:
        error = KEPT[reason].format(why=why)
        if self.dry_run:
            return self._line(created, "planned", reason=reason, error=error, attempts=attempts)
        self.ledger.settle_undo(created, status="kept", reason=reason, error=error,
                                attempts=attempts)  # fmt: skip
        return self._line(created, "kept", reason=reason, error=error, attempts=attempts)

    def _settle(
        self,
        task: UndoTask,
        status: Literal["deleted", "failed"],
        reason: str,
        *,
        http_status: int | None = None,
        error: str = "",
        log_ref: str | None = None,
    ) -> Outcome:
        created = task.created
        attempts = task.sends.count
        if self.dry_run and status == "deleted":  # a read found it gone: nothing to delete
            return self._line(created, "planned", reason=reason, attempts=attempts)
        if not self.dry_run:
            self.ledger.settle_undo(created, status=status, reason=reason, attempts=attempts,
                                    http_status=http_status, error=error or None,
                                    log_ref=log_ref)  # fmt: skip
        return self._line(created, status, reason=reason, http_status=http_status, error=error,
                          log_ref=log_ref, attempts=attempts)  # fmt: skip

    @staticmethod
    def _line(
        created: Created,
        status: Status,
        *,
        reason: str = "",
        http_status: int | None = None,
        error: str = "",
        log_ref: str | None = None,
        attempts: int = 0,
    ) -> Outcome:
        return Outcome(created.row, status, created.customer_id, http_status, error, log_ref,
                       attempts, reason)  # fmt: skip


# --- the library function ------------------------------------------------------------------------
@dataclass(frozen=True)
class UndoScope:
    """What an undo is about to do, for its one confirmation."""

    host: str
    """Where the deletes go (``api.helpscout.net``)."""
    count: int
    """Customers to read, then delete or keep (those deleted before are not counted)."""
    target: ImportRecord


@dataclass
class UndoResult(UndoTally):
    """What ``undo_import`` did: customers by outcome, requests, and whether it went to the end."""

    target: ImportRecord | None = None
    results: Path | None = None
    state: Path | None = None
    resumed: bool = False
    """The undo continued one that had stopped before its end."""
    stopped: str | None = None
    stopped_code: int = EXIT_STOPPED
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return refused_or_stopped(self.stopped_code, self.requests)
        return EXIT_ROWS_FAILED if self.failed else EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK


def default_results_path(state: str | Path) -> Path:
    """Where an undo's results go without ``-o``: beside the state, named after it
    (``export.state.sqlite`` -> ``export.undo.csv``)."""
    state = Path(state)
    name = state.name.removesuffix(".sqlite").removesuffix(".state")
    return state.with_name(f"{name}.undo.csv")


def undo_import(
    state: str | Path,
    options: UndoOptions | None = None,
    *,
    confirm: Callable[[UndoScope], bool] | None = None,
    credentials: Credentials | None = None,
    progress: Callable[[Tally], None] | None = None,
    notice: Callable[[str], None] | None = None,
    on_line: Callable[[Outcome], None] | None = None,
) -> UndoResult:
    """Delete the customers the import of ``options.run`` created, keeping the unsafe ones (see
    the module's docstring); write a results line for each.

    An import is a run and the unfinished runs before it that it resumed (a finished run ends
    one: :meth:`~importer.send.ledger.Ledger.imports`); by default the newest import that created
    any customer (one an undo took back already included, so a second ``undo`` never moves on to
    an older import unasked). Its customers are those its runs recorded as ``created``, those
    ``only`` lists among them when given. Rows found to exist, and rows left in flight (a notice
    says how many; resume the import to learn their fate), are never touched.

    ``state`` is the import's ledger; ``options`` (:class:`~importer.core.options.UndoOptions`) says
    which import (``run``: any run of it; default: the newest import that created customers), the
    results file (``results``; default :func:`default_results_path`; in a dry run, none unless
    given), ``only`` (a results file of that import: only the customers its ``created`` lines
    name are undone), ``dry_run``, and where and how fast to send, as
    :func:`~importer.jobs.front.import_csv`'s. ``confirm`` is asked once before the first write
    (never in a dry run); None confirms. ``on_line`` hears every results line as it is written (in
    order). ``credentials``, ``progress`` and ``notice`` are ``import_csv``'s.

    Raises :class:`~importer.core.errors.InputError` when nothing can be attempted (no such state or
    run, nothing the import created, options, credentials, not confirmed). Once requests have
    begun, everything is in the result (``stopped`` when the undo ended early: what finished is
    in the results and the ledger, and the same call resumes).
    """
    options = options or DEFAULT_UNDO
    results, dry_run, state = options.results, options.dry_run, Path(state)
    if not state.is_file():
        raise ConfigError(f"no state file at {state}: give the --state of the import to undo")
    if results is None and not dry_run:
        results = default_results_path(state)
    check_outputs([("--only-listed", options.only)], [("--output", results), *state_files(state)])
    result = UndoResult(state=state, dry_run=dry_run)
    with JobContext(options, credentials=credentials, notice=notice) as job:
        ledger = job.open_ledger(state, readonly=dry_run)
        check_recorded_results(ledger.results_files(), results)
        scope, count = _scope(ledger, state, options, job.api_url, notice)
        target = result.target = scope.target

        async def undoing(client: HelpScoutClient) -> None:
            # the destination guard came first: never delete in an account the import did not fill
            if not dry_run and scope.count and confirm is not None and not confirm(scope):
                raise NotConfirmed("not confirmed: nothing was deleted")
            if not dry_run:
                result.resumed = ledger.begin_undo(target.runs, results).resuming
            result.results = Path(results) if results is not None else None
            writer = job.enter_context(
                ResultsWriter(results or os.devnull, observers=[on_line] if on_line else ())
            )
            undoer = Undoer(client, writer, ledger, target, concurrency=workers_of(options),
                            dry_run=dry_run, progress=progress, notice=notice)  # fmt: skip
            await undoer.run_into([(start, BATCH) for start in range(0, count, BATCH)], result)

        job.run(undoing)
        if not dry_run:
            ledger.finish_undo("stopped" if result.stopped else "finished")
    return result


def _scope(
    ledger: Ledger,
    state: Path,
    options: UndoOptions,
    api_url: str,
    notice: Callable[[str], None] | None,
) -> tuple[UndoScope, int]:
    """What the undo takes on (and the customers of the import the ledger holds), said to
    ``notice`` first; nothing left to undo is a ConfigError."""
    target = _target(ledger, state, options.run)
    listed = None
    if options.only is not None:
        listed = [cid for _, cid in listed_customers(options.only, statuses={"created"})]
    count, deleted = ledger.undo_targets(target.runs, listed)
    url = URL(api_url)
    host = f"{url.host}:{url.explicit_port}" if url.explicit_port else str(url.host)
    scope = UndoScope(host, count - deleted, target)
    if count and not scope.count:
        raise ConfigError(
            f"nothing to undo: an earlier undo deleted all {plural(count, 'customer')} the "
            f"import of {target.label} created (see {default_results_path(state)} or the "
            "undo's -o); give --run to undo another import"
        )
    if notice is not None:
        notice(scope_line(scope, deleted, options))
    if target.in_flight and notice is not None:
        one = target.in_flight == 1
        notice(
            f"{plural(target.in_flight, 'row')} of this import got no certain answer to "
            f"{'its create' if one else 'their creates'} (in flight): the undo leaves "
            f"{'it' if one else 'them'}; resume the import first (the same run command) to "
            f"learn whether {'it was' if one else 'they were'} created"
        )
    return scope, count


def scope_line(scope: UndoScope, deleted: int, options: UndoOptions) -> str:
    """Which import an undo took (the newest that created any, unless ``--run``), how many of
    its customers it reads, and how long those reads take: said first, as 40,000 customers take
    80,000 reads before anything is deleted."""
    target = scope.target
    began = target.started_at[:16].replace("T", " ")
    earlier = f", {deleted:,} deleted by an earlier undo" if deleted else ""
    reads = scope.count * READS_PER_CUSTOMER
    newest = "" if options.run else ", the newest that created any: --run ID takes another"
    return (
        f"Undo of the import of {target.label} ({began} UTC{newest}): "
        f"{plural(target.created, 'customer')} created{earlier}; each is read with its "
        f"conversations first: {plural(reads, 'read')}, {reading_time(reads, options)}"
    )


def reading_time(cost: float, options: UndoOptions) -> str:
    """How long requests costing ``cost`` take at ``--rate``, else on each plan's budget (the
    account's is not known before its first answer)."""
    share = min(options.budget_share, 1 - options.headroom)
    if options.rate is not None:
        return f"about {duration(budget_seconds(cost, options.rate))} at --rate {options.rate:g}"
    times = ", ".join(f"{duration(budget_seconds(cost, budget * share))} on {name}"
                      for name, budget in PLAN_BUDGETS.items())  # fmt: skip
    return f"about {times} (at {share:.0%} of its budget)"


def _target(ledger: Ledger, state: Path, run: int | None) -> ImportRecord:
    """The import to undo: the one ``run`` belongs to, else the newest that created any."""
    imports = ledger.imports()
    if run is not None:
        found = next((i for i in imports if run in i.runs), None)
        if found is None:
            known = "; ".join(
                f"{i.label} ({i.started_at[:16].replace('T', ' ')} UTC, "
                f"{plural(i.created, 'customer')} created)"
                for i in imports
            )
            raise ConfigError(
                f"{state} has no run {run}; its imports: {known or 'none'}: give --run one of "
                "their runs"
            )
        if not found.created:
            raise ConfigError(f"the import of {found.label} created no customers: nothing to undo")
        return found
    creating = [i for i in imports if i.created]
    if not creating:
        raise ConfigError(f"no import recorded in {state} created customers: nothing to undo")
    return creating[-1]
