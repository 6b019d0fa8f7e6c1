"""What happens to each input row: pure functions of (row, ledger entry, policy) -> action.

The uploader (:mod:`importer.send.upload`) asks :func:`decide` what to do with every row it is
handed, and :func:`after_look_up` what a look-up's answer means for it; the plan of a dry run asks
the same functions, so what it prints is what the import does. Neither reads a file, the ledger or
the network: the caller gathers the inputs, carries the action out, and the tables below are their
tests (``tests/test_decide.py``, one case a line).

The inputs of :func:`decide`: the row (a :class:`Job`: whether it is ``valid``, the earlier row
whose key it repeats, ``duplicate_of``, and its payload's hash ``digest``), its ledger entry
(:class:`~importer.send.ledger.Entry`; None: the key was never seen), the :class:`Policy`, and which
entries this import settled itself (``run.owns(entry)``: this run, or the unfinished runs it
resumes). The first line that applies decides:

====  ===========  ==========================================  ============  =====================
 #    row          ledger entry                                policy        action
====  ===========  ==========================================  ============  =====================
 1    invalid      any                                         any           ``invalid``
 2    repeats a    any                                         any           ``skip`` duplicate
      key
 3    valid        none                                        retry_failed  ``skip`` not-retried
 4    valid        none                                        check         ``check``
 5    valid        none                                                      ``create``
 5.5  valid        failed, not the row's fault (no request     check         ``check``
                   sent; 401 or 403), no customer id
 5.6  valid        the same                                                  ``create``
 6    valid        settled by this import (not in flight; a                  ``recorded``
                   failed one only without retry_failed)
 7    valid        settled, not in flight nor failed           retry_failed  ``skip`` not-retried
 8    valid        in flight, no customer id, no email         retry_unknown ``create``
 9    valid        in flight, no customer id, no email                       ``unknown``
10    valid        failed, no customer id, no email                          ``create``
11    valid        no customer id (in flight or failed)                      ``reconcile``
12    valid        ``exists`` (created elsewhere)              update        ``update``
13    valid        ``exists``                                                ``skip`` exists
14    valid        a customer id, the same digest                            ``skip`` unchanged
15    valid        a customer id, another digest               update        ``update``
16    valid        a customer id, another digest                             ``skip`` changed
====  ===========  ==========================================  ============  =====================

Policies: ``check`` is ``check_existing``, ``update`` is ``on_existing="update"``. "No email":
none that search can find (:func:`email_of`). Actions: ``unknown`` rows are not sent (a create
of theirs may have been carried out, and nothing can look them up: a person checks, then
``--retry-unknown`` sends them); a row a stopped run marked in flight but sent no request for
(``not_sent``: ``failed`` with no attempt), or whose request got the 401 or 403 that stopped it,
is a new row again;
``invalid`` rows are never sent (their results line gives the validator's messages); ``recorded``
rows are reported as the ledger has them, nothing sent; ``check`` looks the email up first (found:
as lines 12 and 13, else create); ``reconcile`` looks the email up (an earlier create's answer
never came, or it failed): found, it is ``created`` with that id, else created now; ``update``
sends what differs. A ``skip`` over an entry left in flight (an update a stopped run never
finished) carries ``settle``: the caller records it as skipped. A ``reconcile`` of an entry left
in flight is ``unsure``: that create may have been carried out, so a look-up that finds nobody is
believed only ``settle_time`` after it (:func:`after_look_up`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from importer.send.diff import changes_for
from importer.send.ledger import Entry, RunInfo, payload_hash

__all__ = [
    "CLOCK_SKEW",
    "Action",
    "Job",
    "Kind",
    "Policy",
    "after_look_up",
    "decide",
    "email_of",
    "is_ours",
    "never_created",
]

#: Seconds Help Scout's clock may be behind ours when a found customer's ``createdAt`` is
#: compared with when our create left (:func:`is_ours`).
CLOCK_SKEW = 5.0

Kind = Literal["invalid", "skip", "recorded", "unknown", "create", "check", "reconcile", "update"]
"""What to do with a row: the first four need no request."""


@dataclass
class Job:
    """One input row, as the decision sees it (and the uploader sends it)."""

    row: int
    payload: dict[str, Any]
    """What a create sends (empty for an invalid row)."""
    key: str
    """What identifies the row across runs (the ledger's key; empty for an invalid row)."""
    source: Sequence[str] | None = None
    """The row's cells as read (with ``--include-source``)."""
    digest: str = ""
    """The payload's hash (computed when not given)."""
    valid: bool = True
    duplicate_of: int | None = None
    """The earlier row (or, with ``--duplicates last``, the later one) that has this row's key."""
    error: str = ""
    """What the results line says of a row that is not sent: the validator's messages, or which
    row has the same key."""

    def __post_init__(self) -> None:
        if not self.digest and self.valid:
            self.digest = payload_hash(self.payload)


@dataclass(frozen=True)
class Policy:
    """What a run does with rows that the ledger or Help Scout knows already."""

    on_existing: Literal["skip", "update"] = "skip"
    check_existing: bool = False
    """Look up the emails of rows the ledger does not know before creating them."""
    retry_failed: bool = False
    """Send only the rows that failed (and those whose fate is unknown); skip the others."""
    retry_unknown: bool = False
    """Create the rows whose fate is unknown and that cannot be looked up (no email)."""


@dataclass(frozen=True, slots=True)
class Action:
    """What :func:`decide` says to do with one row."""

    kind: Kind
    reason: str = ""
    """Why a row is skipped: ``duplicate``, ``not-retried``, ``exists``, ``unchanged``,
    ``changed``."""
    customer_id: str | None = None
    """The customer an update changes, or the one a skipped row's entry names."""
    settle: bool = False
    """A skip over an entry left in flight: record it as skipped."""
    sent_digest: str | None = None
    """A reconcile: the hash of what the earlier run sent, recorded if the customer is found."""
    unsure: bool = False
    """A reconcile of an entry left in flight: its create may have been carried out."""


def decide(job: Job, entry: Entry | None, policy: Policy, run: RunInfo) -> Action:
    """What to do with ``job``, from its ledger ``entry`` (see the module's table)."""
    if not job.valid:
        return Action("invalid")
    if job.duplicate_of is not None:
        return Action("skip", "duplicate")
    if entry is None:
        if policy.retry_failed:
            return Action("skip", "not-retried")
        return Action("check" if policy.check_existing else "create")
    if never_created(entry):  # a stopped run's not_sent, or refused for its credentials
        return Action("check" if policy.check_existing else "create")
    in_flight = entry.status == "in_flight"
    unsettled = in_flight or entry.status == "failed"
    retry = entry.status == "failed" and policy.retry_failed
    if not in_flight and run.owns(entry) and not retry:
        return Action("recorded", customer_id=entry.customer_id)
    if policy.retry_failed and not unsettled:
        return _skip("not-retried", entry)
    if entry.customer_id is None and email_of(job.payload) is None:
        if in_flight and not policy.retry_unknown:
            return Action("unknown")
        return Action("create")
    if entry.customer_id is None:
        return Action("reconcile", sent_digest=entry.payload_hash, unsure=in_flight)
    if entry.status == "exists":  # created elsewhere: the hash says nothing of its data
        if policy.on_existing == "update":
            return Action("update", customer_id=entry.customer_id)
        return _skip("exists", entry)
    if job.digest == entry.payload_hash:
        return _skip("unchanged", entry)
    if policy.on_existing == "update":
        return Action("update", customer_id=entry.customer_id)
    return _skip("changed", entry)


def email_of(payload: dict[str, Any]) -> str | None:
    """The email a customer is looked up by (the first, lower case), or None when it cannot be
    searched (none, or one holding a quote)."""
    emails = payload.get("emails") or ()
    email = str(emails[0].get("value") or "").strip().lower() if emails else ""
    return email if email and '"' not in email else None


def never_created(entry: Entry) -> bool:
    """A failed entry whose failure was not the row's: no request left for it, or the one that
    did was refused for the credentials or the account (401, 403)."""
    refused = not entry.attempts or entry.http_status in (401, 403)
    return entry.status == "failed" and entry.customer_id is None and refused


def _skip(reason: str, entry: Entry) -> Action:
    return Action("skip", reason, entry.customer_id, settle=entry.status == "in_flight")


def is_ours(customer: Mapping[str, Any], sent: Mapping[str, Any], sent_after: float | None) -> bool:
    """Whether a customer found by email after a create in doubt is that create's own.

    Only when it was created after the create left (``createdAt`` no earlier than
    ``sent_after``, Unix seconds, less CLOCK_SKEW; None: not known, not checked) and holds
    everything ``sent`` gave. An agent's customer with the same email fails one or both: taking
    it as created would record a stranger as the import's, for an undo to delete.
    """
    if changes_for(customer, sent):
        return False
    if sent_after is None:
        return True
    try:
        created = datetime.fromisoformat(str(customer.get("createdAt"))).timestamp()
    except ValueError:
        return False
    return created >= sent_after - CLOCK_SKEW


def after_look_up(
    found: object, looked_at: float, unsure_since: float | None, settle_time: float
) -> tuple[Literal["found", "create", "wait"], float]:
    """What a look-up's answer means for a row, and when to look again (Unix seconds).

    Found: the customer exists. Nobody, with no create of unknown fate behind it (a new row,
    ``--check-existing``): create. Nobody, looked up ``settle_time`` or more after the last
    create of unknown fate ended: search has caught up, so it was never created: create. Nobody,
    sooner: the index may not show it yet: wait, and look again at ``unsure_since +
    settle_time``.
    """
    if found is not None:
        return "found", 0.0
    if unsure_since is None or looked_at >= unsure_since + settle_time:
        return "create", 0.0
    return "wait", unsure_since + settle_time
