"""The decision per row, as the table in ``importer/send/decide.py``'s docstring: one case a
line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from importer.send.decide import Action, Job, Policy, decide, email_of, is_ours
from importer.send.ledger import Entry, RunInfo

THIS, RESUMED, EARLIER = 7, 6, 3  # run ids: this run, the unfinished one it resumes, a finished one
RUN = RunInfo(THIS, "2026-01-01T00:00:00+00:00", 1, "in.csv", "fp", None, (RESUMED,))
SENT = "hash-of-the-row"  # the row's payload hash, as the ledger may hold it
ROW = Job(4, {"firstName": "Ann", "emails": [{"type": "work", "value": "Ann@example.com"}]},
          "ann@example.com", digest=SENT)  # fmt: skip
NO_EMAIL = Job(4, {"firstName": "Ann", "phones": [{"type": "work", "value": "555"}]}, "555",
               digest=SENT)  # fmt: skip
INVALID = Job(4, {}, "", valid=False, error="Email: not an email")
REPEATED = replace(ROW, duplicate_of=2, error="the same email as row 2")


def entry(status: str, customer_id: str | None = "42", *, run: int = EARLIER,
          digest: str = SENT, attempts: int = 1) -> Entry:  # fmt: skip
    return Entry("ann@example.com", 4, digest, status, customer_id, None, attempts, None, None,  # type: ignore[arg-type]
                 run, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00")  # fmt: skip


SKIP, CHECK, UPDATE, RETRY, UNKNOWN = (Policy(), Policy(check_existing=True), Policy("update"),
                                       Policy(retry_failed=True),
                                       Policy(retry_unknown=True))  # fmt: skip


@pytest.mark.parametrize(
    "line, job, known, policy, expected",
    [
        (1, INVALID, entry("created"), UPDATE, Action("invalid")),
        (2, REPEATED, entry("failed", None), RETRY, Action("skip", "duplicate")),
        (3, ROW, None, RETRY, Action("skip", "not-retried")),
        (4, ROW, None, CHECK, Action("check")),
        (5, ROW, None, SKIP, Action("create")),
        (5, ROW, None, UPDATE, Action("create")),
        (5.5, ROW, entry("failed", None, run=RESUMED, attempts=0), SKIP, Action("create")),
        (5.5, NO_EMAIL, entry("failed", None, run=THIS, attempts=0), SKIP, Action("create")),
        (5.5, ROW, entry("failed", None, attempts=0), CHECK, Action("check")),
        (5.6, NO_EMAIL, replace(entry("failed", None, run=THIS), http_status=403), SKIP,
         Action("create")),
        (5.6, ROW, replace(entry("failed", None, run=THIS), http_status=401), SKIP,
         Action("create")),
        (6, ROW, replace(entry("failed", None, run=THIS), http_status=400), SKIP,
         Action("recorded")),
        (5.5, ROW, entry("failed", None, attempts=0), RETRY, Action("create")),
        (6, ROW, entry("created", run=THIS), SKIP, Action("recorded", customer_id="42")),
        (6, ROW, entry("failed", None, run=RESUMED), SKIP, Action("recorded")),
        (6, ROW, entry("exists", run=RESUMED, digest="other"), UPDATE,
         Action("recorded", customer_id="42")),
        (7, ROW, entry("created"), RETRY, Action("skip", "not-retried", "42")),
        (7, ROW, entry("exists"), RETRY, Action("skip", "not-retried", "42")),
        (8, NO_EMAIL, entry("in_flight", None), UNKNOWN, Action("create")),
        (9, NO_EMAIL, entry("in_flight", None), SKIP, Action("unknown")),
        (9, NO_EMAIL, entry("in_flight", None, run=RESUMED), RETRY, Action("unknown")),
        (10, NO_EMAIL, entry("failed", None), SKIP, Action("create")),
        (10, NO_EMAIL, entry("failed", None), RETRY, Action("create")),
        (11, ROW, entry("in_flight", None), SKIP,
         Action("reconcile", sent_digest=SENT, unsure=True)),
        (11, ROW, entry("in_flight", None, run=THIS, digest="sent before"), SKIP,
         Action("reconcile", sent_digest="sent before", unsure=True)),
        (11, ROW, entry("failed", None), SKIP, Action("reconcile", sent_digest=SENT)),
        (11, ROW, entry("failed", None, run=RESUMED), RETRY, Action("reconcile", sent_digest=SENT)),
        (12, ROW, entry("exists"), UPDATE, Action("update", customer_id="42")),
        (13, ROW, entry("exists"), SKIP, Action("skip", "exists", "42")),
        (14, ROW, entry("created"), UPDATE, Action("skip", "unchanged", "42")),
        (14, ROW, entry("in_flight"), SKIP, Action("skip", "unchanged", "42", settle=True)),
        (14, ROW, entry("failed", run=THIS), RETRY, Action("skip", "unchanged", "42")),
        (15, ROW, entry("updated", digest="old"), UPDATE, Action("update", customer_id="42")),
        (15, ROW, entry("in_flight", digest="old"), UPDATE, Action("update", customer_id="42")),
        (16, ROW, entry("created", digest="old"), SKIP, Action("skip", "changed", "42")),
        (16, ROW, entry("in_flight", digest="old"), CHECK,
         Action("skip", "changed", "42", settle=True)),
    ],
)  # fmt: skip
def test_decide(
    line: float, job: Job, known: Entry | None, policy: Policy, expected: Action
) -> None:
    assert decide(job, known, policy, RUN) == expected


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"emails": [{"type": "work", "value": " Ann@Example.COM "}]}, "ann@example.com"),
        ({"emails": [{"type": "work", "value": 'a"b@example.com'}]}, None),
        ({"emails": []}, None),
        ({"firstName": "Ann"}, None),
    ],
)
def test_a_row_is_looked_up_by_its_first_email_in_lower_case(
    payload: dict[str, object], expected: str | None
) -> None:
    assert email_of(payload) == expected


SENT_AT = 1_790_000_000.0  # when the row was first sent (Unix seconds)
FOUND = {"id": 9, "firstName": "Ann", "createdAt": "2026-09-21T14:13:25Z",  # SENT_AT + 5 s
         "_embedded": {"emails": [{"type": "work", "value": "ann@example.com"}]}}  # fmt: skip


@pytest.mark.parametrize(
    "found, sent_after, expected",
    [
        (FOUND, SENT_AT, True),  # created after the row was sent, holding what it sent
        (FOUND, None, True),  # when the row was sent is not known: what it holds decides
        ({**FOUND, "createdAt": "2026-09-21T14:13:16Z"}, SENT_AT, True),  # 4 s before: clocks
        ({**FOUND, "createdAt": "2026-09-21T14:13:14Z"}, SENT_AT, False),  # 6 s before
        ({**FOUND, "createdAt": "2025-01-01T00:00:00Z"}, SENT_AT, False),  # an agent's, older
        ({**FOUND, "firstName": "Annie"}, SENT_AT, False),  # holds other data
        ({**FOUND, "firstName": "ANN"}, SENT_AT, False),
        ({**FOUND, "_embedded": {}}, SENT_AT, False),  # without the email sent
        ({**FOUND, "createdAt": "yesterday"}, SENT_AT, False),
        ({k: v for k, v in FOUND.items() if k != "createdAt"}, SENT_AT, False),
    ],
)  # fmt: skip
def test_a_customer_found_after_a_create_in_doubt_is_the_rows_only_when_new_and_as_sent(
    found: dict[str, object], sent_after: float | None, expected: bool
) -> None:
    sent = {"firstName": "Ann", "emails": [{"type": "work", "value": "Ann@Example.com"}]}
    assert is_ours(found, sent, sent_after) is expected


def test_a_jobs_digest_is_its_payloads_hash_and_an_invalid_row_has_none() -> None:
    assert Job(1, {"firstName": "Ann"}, "k").digest == Job(1, {"firstName": "Ann"}, "j").digest
    assert Job(1, {"firstName": "Ann"}, "k").digest != Job(1, {"firstName": "Bo"}, "k").digest
    assert INVALID.digest == ""
