"""The import's own steps, which :func:`~importer.jobs.front.import_csv` strings together over
its :class:`~importer.jobs.context.JobContext`.

Everything here belongs to sending, so :mod:`importer.jobs.front` imports it inside
``import_csv`` only (validating never loads aiohttp). :func:`state_path_of`: the state an import
keeps; :func:`check_existing_of`: a first run into an account that holds customers looks them up;
:func:`row_batches`: every row in input order and batches, a :class:`~importer.send.decide.Job`
each (the uploader's and the plan's); :func:`check_state_is_whole`: a state that forgot customers
a results file lists stops the import before anyone is created again; :func:`check_properties`: a
mapping's properties the account lacks are refused before any create; :func:`send_rows`: the
uploader for one run, into the :class:`~importer.send.tally.ImportResult`; :func:`count_plan`:
what a run would create and update, for ``run``'s question before a real account (sends nothing).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from importer.check.validate import CheckedChunk, SeenKeys, check_rows, hash_keys
from importer.core.errors import (
    ApiError,
    AuthError,
    CertificateError,
    MappingError,
    TransportError,
)
from importer.core.issues import RowWarnings
from importer.core.options import DEFAULT_API_URL, Duplicates, ImportOptions, SendOptions
from importer.core.text import plural
from importer.mapping import Mapping
from importer.outputs.rejects import ragged_cells, row_errors
from importer.read import Chunk, Source
from importer.send.auth import Settings, check_api_url, read_settings
from importer.send.client import HelpScoutClient
from importer.send.decide import Job, Policy, decide
from importer.send.ledger import (
    GO_ON,
    DamagedStateError,
    Ledger,
    RunInfo,
    default_state_path,
    former_state_path,
    payload_hash,
)
from importer.send.results import ResultsWriter, listed_customers
from importer.send.tally import ImportResult, Progress
from importer.send.upload import Uploader, default_concurrency

__all__ = [
    "BATCH_ROWS",
    "PlanCount",
    "api_url_of",
    "check_properties",
    "check_state_is_whole",
    "count_plan",
    "row_batches",
    "send_rows",
    "state_path_of",
    "workers_of",
]

#: Rows per batch handed from the reading thread to the uploader (payloads are built per batch).
BATCH_ROWS = 1000


def api_url_of(api_url: str | None, settings: Settings | None = None) -> str:
    """Where to send: ``api_url`` (``--api-url``), else ``HELPSCOUT_API_URL`` of the environment
    or of the credentials file, else Help Scout's; checked."""
    given = (settings or read_settings()).values.get("HELPSCOUT_API_URL")
    return check_api_url(api_url or given or DEFAULT_API_URL)


def workers_of(options: SendOptions) -> int:
    """Requests in flight at once: ``--concurrency``, or enough to keep up with ``--rate``."""
    return options.concurrency or default_concurrency(options.rate)


async def check_existing_of(
    client: HelpScoutClient,
    ledger: Ledger,
    options: ImportOptions,
    notice: Callable[[str], None] | None,
) -> ImportOptions:
    """``options`` with ``check_existing`` decided when it was left to the importer (None): on
    for a first run (a new state) into an account that holds customers already, which one
    cheap read tells (``GET /v2/customers?page=1``: ``page.totalElements``), off otherwise (an
    answer that does not say: as before this guard, the ledger decides)."""
    if options.check_existing is not None:
        return options
    held = 0
    if ledger.is_new:
        try:
            reply = await client.request("GET", "/v2/customers", params={"page": "1"})
        except (ApiError, TransportError):  # refused: the first create meets it and reports it
            return dataclasses.replace(options, check_existing=False)
        page = reply.body.get("page") if isinstance(reply.body, dict) else None
        total = page.get("totalElements") if isinstance(page, dict) else None
        held = total if reply.status == 200 and isinstance(total, int) else 0
    if held > 0 and notice is not None:
        notice(
            f"the account holds {plural(held, 'customer')} already and this is the first import "
            f"with the state file {ledger.path}: each row's email is looked up before it is "
            "created (--no-check-existing: do not)"
        )
    return dataclasses.replace(options, check_existing=held > 0)


def state_path_of(
    state: str | Path | None,
    results: str | Path,
    source: str | Path,
    mapping: str | Path | Mapping,
    api_url: str,
) -> tuple[Path, str | None]:
    """The state an import keeps: ``state`` (``--state``), else
    :func:`~importer.send.ledger.default_state_path` (named after the mapping and where it sends),
    else, when only that exists, the former default named after the file (an existing cron
    job's), with a note saying so."""
    if state is not None:
        return Path(state), None
    named = mapping.path if isinstance(mapping, Mapping) else mapping
    default = default_state_path(results, named or source, api_url)
    former = former_state_path(results, source)
    if default.exists() or not former.is_file():
        return default, None
    return former, (
        f"using the state file {former} (named after the file, as earlier versions did); "
        f"rename it to {default.name} so that exports of other names reuse it"
    )


async def send_rows(
    batches: Iterable[Sequence[Job]],
    mapping: Mapping,
    writer: ResultsWriter,
    ledger: Ledger,
    result: ImportResult,
    options: ImportOptions,
    *,
    client: HelpScoutClient,
    progress: Progress | None,
    notice: Callable[[str], None] | None,
) -> None:
    """Send every row of ``batches`` (the run begun in ``ledger``) with ``client`` (the job's,
    :class:`~importer.jobs.context.JobContext`); fill ``result`` in, also when the run stops early
    (``result.stopped``: why)."""
    pacer, workers = client.pacer, workers_of(options)
    if mapping.properties:
        await check_properties(client, mapping, notice)
    uploader = Uploader(
        client,
        writer,
        ledger,
        concurrency=workers,
        policy=Policy(
            options.on_existing,
            bool(options.check_existing),
            options.retry_failed,
            options.retry_unknown,
        ),
        progress=progress,
        notice=notice,
        row_timeout=options.row_timeout,
        settle_time=options.settle_time,
    )
    try:
        await uploader.run_into(batches, result)
    finally:
        result.budget, result.others_peak = pacer.ceiling, pacer.others_peak


@dataclass(frozen=True)
class PlanCount:
    """What a run of the file would do, as far as the state knows (no look-up is made)."""

    create: int
    """Valid rows the state has not settled: new keys, and those left in flight or failed."""
    update: int
    """Rows imported before whose data changed, with ``on_existing="update"``."""
    rows: int


def count_plan(source: Source, mapping: Mapping, state: Path, options: ImportOptions) -> PlanCount:
    """Count the customers a run would create and update: every row as the import reads it
    (:func:`row_batches`), decided as the import decides it (:func:`~importer.send.decide.decide`)
    against the state's entries. A ``check`` or a ``reconcile`` counts as a create (a look-up
    may find the customer: the count is at most). Opens the state read-only (no lock); writes
    nothing, sends nothing.
    """
    policy = Policy(
        options.on_existing,
        bool(options.check_existing),
        options.retry_failed,
        options.retry_unknown,
    )
    kinds: Counter[str] = Counter()
    with contextlib.ExitStack() as stack:
        ledger = None
        if state.is_file():
            ledger = stack.enter_context(Ledger.open(state, source="", readonly=True))
        run = ledger.preview_run("") if ledger else RunInfo(1, "", 0, "", "", None, ())
        for batch in row_batches(source, mapping, duplicates=options.duplicates):
            known = ledger.get_many([j.key for j in batch if j.valid]) if ledger else {}
            kinds.update(decide(job, known.get(job.key), policy, run).kind for job in batch)
    creates = kinds["create"] + kinds["check"] + kinds["reconcile"]
    return PlanCount(creates, kinds["update"], kinds.total())


def check_state_is_whole(
    ledger: Ledger,
    results: Path,
    safe: bool,
    notice: Callable[[str], None] | None,
) -> None:
    """Stop (DamagedStateError, exit 2) when a results file of this import lists customers the
    state does not know: the state was deleted, emptied or damaged (a lost WAL) since, and
    trusting it would create them again. ``safe`` goes on with a notice: every row is looked up
    (``--check-existing``, or a new state's first run into an account that holds customers), or
    the state is new and the account holds nobody to create twice.

    The results files of "this import": the one the state's latest run recorded writing (it
    may have another name than ``results``: nightly runs), and, when the state is new (missing
    or emptied), ``results`` itself, the file this run is about to overwrite.
    """
    candidates = ledger.results_files() + ([results.resolve()] if ledger.is_new else [])
    for listed in dict.fromkeys(candidates):
        if not listed.is_file():
            continue
        count, first = ledger.unknown_customers(listed_customers(listed))
        if not count:
            continue
        examples = ", ".join(f"row {row}: customer {cid}" for row, cid in first)
        what = (
            f"the state file {ledger.path} does not know {count:,} "
            f"customer{'s' if count != 1 else ''} that {listed} lists ({examples}"
            f"{', ...' if count > len(first) else ''})"
        )
        if safe:
            if notice:
                notice(f"{what}: going on, as each row is looked up before it is created "
                       "(--check-existing) or the account holds no customer yet")  # fmt: skip
            return
        raise DamagedStateError(
            f"{what}: it was deleted, emptied or damaged since, and importing now could create "
            f"them again; {GO_ON} (or, if {listed.name} is from another import, move it away)"
        )


async def check_properties(
    client: HelpScoutClient, mapping: Mapping, notice: Callable[[str], None] | None
) -> None:
    """Refuse, before any create, a mapping that fills properties the account does not have:
    Help Scout would answer 400 to every row. An account whose definitions cannot be read, or
    that lists none (an older API, a proxy, a stand-in server), is not refused: the rows will say
    what Help Scout thinks, and refused credentials are met again, and reported, by the first
    create."""
    try:
        definitions = {d.get("slug"): d for d in await client.customer_properties()}
    except (ApiError, TransportError) as exc:
        if isinstance(exc, CertificateError):
            raise
        if notice and not isinstance(exc, AuthError):
            notice(f"could not read the account's customer properties ({exc}): sending anyway")
        return
    if not definitions:
        if notice:
            notice("the account lists no customer properties: sending anyway")
        return
    missing = sorted(set(mapping.properties) - set(definitions))
    if missing:
        known = ", ".join(sorted(str(slug) for slug in definitions)) or "none"
        raise MappingError(
            f"properties: {', '.join(missing)} {'is not a' if len(missing) == 1 else 'are not'} "
            f"customer {'property' if len(missing) == 1 else 'properties'} of this Help Scout "
            f"account (it has: {known}): create {'it' if len(missing) == 1 else 'them'} in Help "
            "Scout (Manage > Company > Customer Properties) or take "
            f"{'it' if len(missing) == 1 else 'them'} out of the mapping",
            path=str(mapping.path),
        )
    for slug, prop in mapping.properties.items():
        kind = definitions[slug].get("type")
        if notice and kind and kind != prop.type:
            notice(f"property {slug} is {kind} in the account but {prop.type} in the mapping")


def row_batches(
    source: Source, mapping: Mapping, *, include_source: bool = False,
    duplicates: Duplicates = "error", warnings: RowWarnings | None = None,
    on_checked: Callable[[CheckedChunk], None] | None = None,
) -> Iterator[list[Job]]:  # fmt: skip
    """Every row in input order and batches, as a Job: what :func:`~importer.send.decide.decide`
    needs of it (the import's and the plan's).

    A row's key is the mapping's (``Mapping.key_of``); a row without one is keyed by its payload's
    hash, so that it too is imported once. An invalid row's Job says so (``valid``, and the
    validator's messages as ``error``). A valid row whose key an earlier valid row had names it
    (``duplicate_of``); with ``duplicates="last"``, so does a row a later one replaces (found by a
    first pass over the file, :func:`_superseded`, before this returns). ``include_source`` keeps
    each row's cells as read (the results' source columns, the rejects). ``warnings`` hears each
    chunk's row warnings (a dropped address, a phone without a digit) and removed apostrophes;
    ``on_checked`` each checked chunk, before its rows' Jobs (the results page: whom rows name).
    """
    superseded = _superseded(source, mapping) if duplicates == "last" else {}
    return _batches(source, mapping, include_source, duplicates, superseded, warnings, on_checked)


def _batches(
    source: Source,
    mapping: Mapping,
    include_source: bool,
    duplicates: Duplicates,
    superseded: dict[int, int],
    warnings: RowWarnings | None,
    on_checked: Callable[[CheckedChunk], None] | None = None,
) -> Iterator[list[Job]]:
    seen = SeenKeys()
    same = f"the same {mapping.key_name} as row"
    for chunk, checked in check_rows(source, mapping, duplicates=duplicates):
        if warnings is not None:
            warnings.add(checked.issues, checked.apostrophes, checked.invalid)
        if on_checked is not None:
            on_checked(checked)
        errors = row_errors(checked.issues).to_dict()
        cells = _source_cells(chunk, source) if include_source else {}
        rows = checked.rows
        for start in range(0, len(rows), BATCH_ROWS):
            part = rows[start : start + BATCH_ROWS]
            valid = part[~part.isin(checked.invalid)]
            keys = checked.keys.loc[valid].tolist()
            jobs: dict[int, Job] = {}
            for (row, payload), key in zip(mapping.payloads(checked.mapped.loc[valid]), keys,
                                           strict=True):  # fmt: skip
                digest = payload_hash(payload)
                key = f"#payload:{digest}" if pd.isna(key) else key
                jobs[row] = Job(row, payload, key, cells.get(row), digest)
            earlier = _earlier_rows(seen, [j for j in jobs.values() if j.row not in superseded])
            batch: list[Job] = []
            for row in part.tolist():
                job = jobs.get(row)
                if job is None:
                    job = Job(row, {}, "", cells.get(row), valid=False, error=errors.get(row, ""))
                elif row in superseded or row in earlier:
                    job.duplicate_of = superseded.get(row) or earlier[row]
                    job.error = f"{same} {job.duplicate_of}"
                batch.append(job)
            yield batch


def _earlier_rows(seen: SeenKeys, jobs: list[Job]) -> dict[int, int]:
    """The jobs whose key an earlier job of the run had: row -> that earlier row."""
    if not jobs:
        return {}
    rows = np.array([job.row for job in jobs], dtype="int64")
    first = seen.first_rows(hash_keys([job.key for job in jobs]), rows)
    return {int(r): int(f) for r, f in zip(rows[first > 0], first[first > 0], strict=True)}


def _superseded(source: Source, mapping: Mapping) -> dict[int, int]:
    """For ``--duplicates last``: each valid row whose key a later valid row has -> the last one.

    A first pass over the file that keeps only 64-bit key hashes and row numbers (16 bytes a row).
    """
    hashes, rows = [], []
    for _, checked in check_rows(source, mapping, duplicates="last"):
        keys = checked.keys.loc[checked.valid_rows].dropna()
        hashes.append(hash_keys(keys.tolist()))
        rows.append(keys.index.to_numpy(dtype="int64"))
    if not hashes:
        return {}
    h, r = np.concatenate(hashes), np.concatenate(rows)
    order = np.lexsort((r, h))
    h, r = h[order], r[order]
    ends = np.flatnonzero(np.r_[h[1:] != h[:-1], True])  # the last row of each key
    last = r[ends[np.searchsorted(ends, np.arange(len(h)))]]
    earlier = last != r
    return dict(zip(r[earlier].tolist(), last[earlier].tolist(), strict=True))


def _source_cells(chunk: Chunk, source: Source) -> dict[int, list[str]]:
    """The row's cells as read; a ragged row's extra fields stay together in its last cell."""
    frame = chunk.frame
    cells = {
        row: list(values)
        for row, values in zip(
            frame.index.tolist(), frame.itertuples(index=False, name=None), strict=True
        )
    }
    for ragged in chunk.ragged:
        cells[ragged.row] = ragged_cells(ragged, len(source.columns), source.delimiter)
    return cells
