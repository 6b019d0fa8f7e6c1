"""The plan against the account: what ``run`` would do to each row, learnt with reads only.

:func:`plan_import` is ``run --dry-run --check-existing``. Every row goes the import's way up to
its first write, and stops there (:class:`_Planner`): read, mapped, checked, keyed and decided
against the ledger (opened read-only) as the import does, its email looked up, its customer read
when it would be updated. Nothing is sent but reads, nothing written to Help Scout or the ledger.
``results`` gets one line per row in the results' shape: ``planned``, with ``reason`` saying what
the import would do (:data:`REASONS`), ``invalid`` rows as the import writes them, and ``failed``
for a row the plan could not learn about (a look-up refused). The import it plans then does the
same, row for row, as long as nobody changes the account or the file in between; it needs the
same reads, a write per create and per change (:attr:`Plan.writes`), and the time that takes
(:meth:`Plan.seconds`, at ``rate`` or at ``budget_share`` of :attr:`Plan.limit`).
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from importer.check.validate import file_warnings
from importer.core.errors import EXIT_OK, EXIT_ROWS_FAILED, ApiError, TransportError
from importer.core.files import check_outputs, check_recorded_results
from importer.core.options import DEFAULT_API_URL, DEFAULT_IMPORT, ImportOptions
from importer.core.text import plural
from importer.jobs.context import JobContext
from importer.jobs.front import inputs_of, open_input
from importer.jobs.importing import api_url_of, check_properties, row_batches, state_path_of
from importer.mapping import Mapping
from importer.send.auth import Credentials
from importer.send.client import HelpScoutClient
from importer.send.decide import Action, Job, Policy, decide, is_ours
from importer.send.diff import changes_for
from importer.send.ledger import Entry, Ledger, RunInfo
from importer.send.pacing import WRITE_COST, estimate_seconds
from importer.send.results import Outcome, ResultsWriter
from importer.send.upload import FATAL, UNKNOWN, Lookups, email_of, first_sent, recorded
from importer.send.workers import error_text

if TYPE_CHECKING:
    from importer.sandbox import SandboxConfig

__all__ = ["Plan", "plan_import"]

#: Rows of each kind the console lists by name (every row is in the results file).
EXAMPLES = 5
#: What each ``reason`` of a planned line means, in the order the console lists them.
REASONS = {
    "create": "create {n}",
    "update": "update {n}",
    "exists": "skip {n} that exist already in Help Scout",
    "unchanged": "skip {n} unchanged since they were imported",
    "changed": "skip {n} changed since they were imported (--on-existing update updates them)",
    "duplicate": "skip {n} with the key of an earlier row",
    "not-retried": "skip {n} not retried (--retry-failed)",
    "found": "record {n} as created by an earlier run whose answer was lost",
    "done": "report {n} as the stopped run this one resumes left them",
    "unknown": "leave {n} whose create got no certain answer and that have no email to look "
    "them up by (check in Help Scout; --retry-unknown sends them)",
    "invalid": "{n} invalid",
    "failed": "{n} could not be planned (see the results)",
}


@dataclass
class Plan:
    """What ``plan_import`` found: every row's line, the requests the import needs."""

    api_url: str
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    """Rows by what the import would do (``reason``), and ``invalid``, ``failed``."""
    examples: dict[str, list[Outcome]] = field(default_factory=dict)
    """The first rows of each kind."""
    fields: Counter[str] = field(default_factory=Counter)
    """Rows to update, by field that would change."""
    reads: int = 0
    """Reads the import sends again (the plan's own: searches, customers, properties)."""
    writes: int = 0
    """Writes the import sends: a create each, a request per change of an update."""
    limit: int | None = None
    """The account's budget a minute, as Help Scout reported it while planning."""
    results: Path | None = None
    state: Path | None = None
    """The ledger planned with (None: none found, planned as a first import)."""
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome, writes: int = 0, changed: Sequence[str] = ()) -> None:
        self.rows += 1
        kind = outcome.reason if outcome.status == "planned" else outcome.status
        self.counts[kind] += 1
        examples = self.examples.setdefault(kind, [])
        if len(examples) < EXAMPLES:
            examples.append(outcome)
        self.writes += writes
        self.fields.update(changed)

    @property
    def cost(self) -> int:
        """What the import takes from the per-minute budget (writes cost 2)."""
        return self.reads + self.writes * WRITE_COST

    @property
    def exit_code(self) -> int:
        return EXIT_ROWS_FAILED if self.counts["invalid"] or self.counts["failed"] else EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def seconds(self, rate: float) -> float:
        """How long the import's requests take spending ``rate`` of the budget a minute."""
        return estimate_seconds(math.ceil(self.cost / WRITE_COST), rate)  # in creates, 2 each

    def lines(self) -> Iterator[str]:
        """The plan as the console prints it: a line a kind of row, naming the first rows (and
        their customers), then the requests (the time they take is the caller's to say)."""
        yield f"Plan against {self.api_url} for {plural(self.rows, 'row')}:"
        for kind, meaning in REASONS.items():
            count = self.counts[kind]
            if not count:
                continue
            line = "  " + meaning.format(n=f"{count:,}")
            if kind == "update":
                line += " (" + ", ".join(f"{f} {n:,}" for f, n in self.fields.most_common()) + ")"
            if kind != "create":
                shown = self.examples[kind]
                rows = ", ".join(
                    f"row {o.row}" + (f" customer {o.customer_id}" if o.customer_id else "")
                    for o in shown
                )
                line += f": {rows}{', ...' if count > len(shown) else ''}"
            yield line
        yield (
            f"The import needs {plural(self.reads + self.writes, 'request')}: "
            f"{self.reads:,} reads (the plan's own, again) and {self.writes:,} writes "
            f"({self.cost:,} of the per-minute budget: a write costs 2)."
        )


def plan_import(
    path: str | Path,
    mapping: str | Path | Mapping,
    results: str | Path | None = None,
    options: ImportOptions | None = None,
    *,
    credentials: Credentials | None = None,
    sandbox: SandboxConfig | None = None,
    notice: Callable[[str], None] | None = None,
) -> Plan:
    """Plan importing ``path`` with ``--check-existing`` against the account: see the module.

    The options and keyword arguments are :func:`~importer.jobs.front.import_csv`'s, and mean the
    same (``check_existing`` is implied; the writing ones are not used). The ledger is
    ``options.state``, else the one the import would keep beside ``results``; ``results``
    (optional) gets the plan, and may not be the results file that ledger's import wrote.
    ``sandbox`` plans against a fresh in-process sandbox (an empty account). Raises
    :class:`~importer.core.errors.InputError` when nothing can be planned (credentials, mapping,
    file, state), and what refuses the reads (AuthError).
    """
    options = options or DEFAULT_IMPORT
    include_source = options.include_source
    state_path = _state_of(path, mapping, results, options, sandbox=sandbox, notice=notice)
    check_outputs([*inputs_of(path, mapping), ("--state", state_path)], [("--output", results)])
    policy = Policy(options.on_existing, True, options.retry_failed, options.retry_unknown)
    with JobContext(options, credentials=credentials, sandbox=sandbox, notice=notice) as job:
        source, mapping = open_input(path, mapping, options, all_columns=include_source)
        where = "the built-in sandbox" if sandbox is not None else str(job.api_url)
        plan = Plan(where, notes=[*source.warnings, *file_warnings(mapping, source.sample())])
        plan.results = Path(results) if results is not None else None
        ledger = None
        if state_path is not None and state_path.is_file():
            ledger = job.open_ledger(state_path, source=str(path), readonly=True)
            plan.state = state_path
            check_recorded_results(ledger.results_files(), results)
        elif notice is not None and sandbox is None:
            missing = f"no state file at {state_path}" if state_path else "no state file"
            notice(f"{missing}: planned as a first import (every row is new to the ledger)")
        run = ledger.preview_run("") if ledger else RunInfo(1, "", 0, str(path), "", None, ())
        batches = row_batches(source, mapping, include_source=include_source,
                              duplicates=options.duplicates)  # fmt: skip
        columns = source.columns if include_source else None

        async def planning(client: HelpScoutClient) -> None:
            writer = None
            if results is not None:  # once the destination guard let the plan go on
                writer = job.enter_context(ResultsWriter(results, source_columns=columns))
            if mapping.properties:
                await check_properties(client, mapping, notice)
            planner = _Planner(client, policy)
            try:
                await planner.plan(batches, ledger, run, plan, writer)
            finally:
                planner.lookups.close()
                plan.reads = client.requests

        job.run(planning)
        plan.notes += source.late_warnings
    plan.limit = job.pacer.limit
    return plan


def _state_of(
    path: str | Path,
    mapping: str | Path | Mapping,
    results: str | Path | None,
    options: ImportOptions,
    *,
    sandbox: SandboxConfig | None,
    notice: Callable[[str], None] | None,
) -> Path | None:
    """The ledger the plan reads: the one the import would keep (None: none, as for a plan
    without results into the built-in sandbox)."""
    api_url = DEFAULT_API_URL if sandbox is not None else api_url_of(options.api_url)
    if options.state is None and (results is None or sandbox is not None):
        return None
    state_path, former = state_path_of(options.state, results or "", path, mapping, api_url)
    if former and notice is not None:
        notice(former)
    return state_path


class _Planner:
    """Carries each row's decision out as far as reads go.

    - rows come as the import reads them (:func:`importer.jobs.importing.row_batches`), and
      :func:`importer.send.decide.decide` decides each against the ledger (no state file: a first
      import);
    - the emails of the rows to ``check`` and to ``reconcile`` are looked up as the import looks
      them up (:class:`~importer.send.upload.Lookups`, 20 emails to a search): found, the row is
      skipped (``exists``, with the customer's id), updated (``--on-existing update``) or,
      reconciled, recorded as created by the earlier run (``found``); nobody: ``create``;
    - a row to update has its customer read (``GET``), and
      :func:`~importer.send.diff.changes_for` says which fields would change (none:
      ``unchanged``); ``done`` is a row the stopped run it resumes finished.
    """

    def __init__(self, client: HelpScoutClient, policy: Policy) -> None:
        self.client = client
        self.policy = policy
        self.lookups = Lookups(client)

    async def plan(
        self,
        batches: Iterator[list[Job]],
        ledger: Ledger | None,
        run: RunInfo,
        plan: Plan,
        writer: ResultsWriter | None,
    ) -> None:
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            keys = [job.key for job in batch if job.valid]
            known = ledger.get_many(keys) if ledger is not None and keys else {}
            entries = [known.get(job.key) if job.valid else None for job in batch]
            lines = await asyncio.gather(
                *(
                    self._row(job, entry, decide(job, entry, self.policy, run))
                    for job, entry in zip(batch, entries, strict=True)
                )
            )
            for outcome, writes, changed in lines:
                plan.add(outcome, writes, changed)
                if writer is not None:
                    writer.expect(outcome.row)
                    writer.add(outcome)

    async def _row(
        self, job: Job, entry: Entry | None, action: Action
    ) -> tuple[Outcome, int, list[str]]:
        """The row's planned line, the writes the import would send for it, what would change."""
        kind = action.kind
        if kind == "invalid":
            return Outcome(job.row, "invalid", error=job.error, source=job.source), 0, []
        if kind == "skip":
            return _planned(job, action.reason, action.customer_id, job.error), 0, []
        if kind == "recorded":
            assert entry is not None
            done = recorded(job, entry)
            detail = done.status + (f" ({done.reason})" if done.reason else "")
            return _planned(job, "done", done.customer_id, detail), 0, []
        if kind == "unknown":
            return _planned(job, "unknown", detail=UNKNOWN), 0, []
        email = email_of(job.payload)
        if kind in ("check", "reconcile") and email is not None:
            try:
                customer = await self.lookups.find(email)
            except FATAL:
                raise
            except (ApiError, TransportError) as exc:
                return self._failed(job, f"looking it up failed ({exc})")
            found = None if customer is None else str(customer["id"])
            if customer is not None and kind == "reconcile":
                assert entry is not None
                if is_ours(customer, job.payload, first_sent(entry)):
                    return _planned(job, "found", found), 0, []
            if found is not None and self.policy.on_existing == "update":
                return await self._update(job, found)
            if found is not None:
                return _planned(job, "exists", found), 0, []
        if kind == "update":
            assert action.customer_id is not None
            return await self._update(job, action.customer_id)
        return _planned(job, "create"), 1, []

    async def _update(self, job: Job, customer_id: str) -> tuple[Outcome, int, list[str]]:
        reply = await self.client.request("GET", f"/v2/customers/{customer_id}")
        if reply.error is not None:
            error = error_text(reply.error)
            if reply.status == 404:
                error = f"customer {customer_id} is no longer in Help Scout: {error}"
            return self._failed(job, error, customer_id, reply.status)
        changes = changes_for(reply.body, job.payload)
        if not changes:
            return _planned(job, "unchanged", customer_id), 0, []
        changed = list(dict.fromkeys(part for c in changes for part in c.what.split(", ")))
        return _planned(job, "update", customer_id, ", ".join(changed)), len(changes), changed

    @staticmethod
    def _failed(
        job: Job, error: str, customer_id: str | None = None, http_status: int | None = None
    ) -> tuple[Outcome, int, list[str]]:
        outcome = Outcome(job.row, "failed", customer_id, http_status or None, error,
                          source=job.source)  # fmt: skip
        return outcome, 0, []


def _planned(job: Job, reason: str, customer_id: str | None = None, detail: str = "") -> Outcome:
    return Outcome(job.row, "planned", customer_id, error=detail, reason=reason, source=job.source)
