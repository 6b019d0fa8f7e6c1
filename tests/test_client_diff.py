"""The customer diff, pure: what a customer Help Scout holds lacks of a row (:func:`changes_for`,
the requests an update sends) and holds beyond it (:func:`additions`, what undo keeps)."""

from __future__ import annotations

from typing import Any

import pytest

from importer.send.diff import additions, changes_for

HELD = {
    "id": 7,
    "firstName": "Ann",
    "lastName": "Lee",
    "jobTitle": "CTO",
    "gender": "Female",
    "_embedded": {
        "emails": [{"id": 1, "type": "work", "value": "Ann@Example.com"}],
        "phones": [{"id": 2, "type": "work", "value": "+1 555 0100"}],
        "websites": [],
        "properties": [{"slug": "seats", "value": 4}, {"slug": "vip", "value": True}],
        "address": {"lines": ["1 Main St"], "city": "Boston", "country": "US"},
    },
}


@pytest.mark.parametrize(
    "payload, expected",
    [
        # what Help Scout holds already, in its own case and types: nothing to send
        ({"firstName": "Ann", "gender": "female", "emails": [{"type": "work",
          "value": "ann@example.com"}], "properties": {"seats": "4", "vip": "true"},
          "address": {"lines": ["1 Main St"], "city": "Boston", "country": "US"}}, []),
        # fields the row leaves out are not erased; only what differs is sent
        ({"firstName": "Anna", "jobTitle": "CEO"},
         [("firstName, jobTitle", "PATCH", "", [
             {"op": "replace", "path": "/firstName", "value": "Anna"},
             {"op": "replace", "path": "/jobTitle", "value": "CEO"}])]),
        ({"properties": {"seats": 5, "plan": "pro"}},
         [("properties", "PATCH", "/properties", [
             {"op": "replace", "path": "/seats", "value": 5},
             {"op": "replace", "path": "/plan", "value": "pro"}])]),
        # new entries are added, known ones are not, a top-level phone is a phone entry
        ({"emails": [{"type": "work", "value": "ANN@example.com"},
                     {"type": "home", "value": "a@home.example"}],
          "phone": "+1 555 0199", "websites": [{"value": "https://ann.example"}]},
         [("emails", "POST", "/emails", {"type": "home", "value": "a@home.example"}),
          ("phones", "POST", "/phones", {"type": "work", "value": "+1 555 0199"}),
          ("websites", "POST", "/websites", {"value": "https://ann.example"})]),
        ({"address": {"lines": ["2 Main St"], "city": "Boston", "country": "US"}},
         [("address", "PUT", "/address",
           {"lines": ["2 Main St"], "city": "Boston", "country": "US"})]),
    ],
)  # fmt: skip
def test_changes_for_sends_only_what_differs(payload: dict, expected: list) -> None:
    changes = [(c.what, c.method, c.path, c.body) for c in changes_for(HELD, payload)]
    assert changes == expected


def test_an_address_is_created_when_there_is_none() -> None:
    held = {"id": 7, "_embedded": {}}
    address = {"lines": ["1 Main St"], "country": "US"}
    assert [(c.method, c.path) for c in changes_for(held, {"address": address})] == [
        ("POST", "/address")
    ]


@pytest.mark.parametrize(
    "payload, expected",
    [
        # all it holds was sent (in another case, a phone as the top-level field)
        ({"firstName": "Ann", "lastName": "Lee", "jobTitle": "CTO", "gender": "female",
          "emails": [{"value": "ann@example.com"}], "phone": "+1 555 0100",
          "properties": {"seats": 4, "vip": True},
          "address": {"lines": ["1 Main St"], "city": "Boston", "country": "US"}}, []),
        # own fields, entries, properties (by slug) and the address the row did not give
        ({"firstName": "Ann", "emails": [{"value": "ann@example.com"}]},
         ["lastName", "jobTitle", "gender", "phones", "seats", "vip", "address"]),
        # an entry beyond those sent
        ({"firstName": "Ann", "lastName": "Lee", "jobTitle": "CTO", "gender": "female",
          "emails": [{"value": "other@example.com"}], "phone": "+1 555 0100",
          "properties": {"seats": 4, "vip": True}, "address": {"city": "Boston"}}, ["emails"]),
    ],
)  # fmt: skip
def test_additions_are_what_the_row_did_not_send(payload: dict, expected: list[str]) -> None:
    assert additions(HELD, payload) == expected


@pytest.mark.parametrize(
    "customer",
    [
        {"id": 7, "gender": "Unknown", "photoUrl": "https://gravatar.example/a",
         "photoType": "gravatar", "jobTitle": "", "_embedded": {"properties": [
             {"slug": "plan", "value": None}, {"slug": "seats", "value": ""}]}},
        {"id": 7},
    ],
)  # fmt: skip
def test_what_help_scout_fills_itself_is_nobodys_addition(customer: dict[str, Any]) -> None:
    assert additions(customer, {"firstName": "Ann"}) == []
