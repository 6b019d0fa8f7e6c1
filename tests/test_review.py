"""``review``: the pure core as tables, the session on real files, the server's guard over
loopback HTTP, and the command's bad input (one line, exit 2). The page itself is driven in
Chromium by tests/test_review_browser.py."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import Result

from importer.mapping import load_mapping
from importer.review import Review
from importer.review.model import CHOSEN_NOTE, Choice, build, choices_of, spec_of
from importer.review.profile import shape, shown_values
from importer.review.server import ReviewServer, page_html
from importer.review.session import confidence, needs_review
from importer.suggest.draft import Field, parse

ROOT = Path(__file__).resolve().parent.parent


# --- the pure parts -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("ann@example.com", "a@a.a"), ("+44 20 7946", "+9 9 9"), ("L-1001", "a-9"), ("", ""),
     ("Zoë_2", "a_9")],
)  # fmt: skip
def test_shape(text: str, expected: str) -> None:
    assert shape(text) == expected


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["12", "7", "", "ten", "7", " 345 "], ["ten", "345", "12", "7"]),  # odd first, distinct
        (["", "  "], []),
        ([f"a{i}" for i in range(9)], ["a0", "a1", "a2", "a3", "a4"]),
    ],
)
def test_shown_values_are_distinct_odd_then_long(cells: list[str], expected: list[str]) -> None:
    assert shown_values(cells) == expected


@pytest.mark.parametrize(
    ("choice", "spec"),
    [
        (Choice("field", "jobTitle"), "Col"),
        (Choice("field", "jobTitle", options={"transform": ["title"]}),
         {"column": "Col", "transform": ["title"]}),
        (Choice("entry", "phones", "mobile"), {"column": "Col", "type": "mobile"}),
        (Choice("entry", "phones", {"column": "Kind"}),
         {"column": "Col", "type": {"column": "Kind"}}),
        (Choice("property", "joined", "date", format="%d/%m/%Y"),
         {"column": "Col", "type": "date", "format": "%d/%m/%Y"}),
        (Choice("property", "joined", "text", format="%d/%m/%Y"),
         {"column": "Col", "type": "text"}),
        (Choice("address", "city", group=1, options={"on_invalid": "drop"}),
         {"column": "Col", "on_invalid": "drop"}),
    ],
)  # fmt: skip
def test_spec_of(choice: Choice, spec: Any) -> None:
    assert spec_of("Col", choice) == spec


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "column"}, "unknown kind 'column'"),
        ({"kind": "field"}, "a field choice names its field"),
        ({"kind": "address", "field": "city", "group": -1}, "group a number from 0"),
        ({"kind": "entry", "field": "phones", "options": ["x"]}, "options must be an object"),
        ([], "a choice is an object"),
    ],
)
def test_a_bad_choice_is_refused_with_what_is_wrong(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Choice.from_json(data)


BASE = """\
# Suggested by helpscout-import init
customer:
  # header "First Name"
  firstName: First Name
  fullName: {column: [Nick, First Name]}
  emails:
    # header "Email"
    - {column: Email, type: work}
  address:
    lines: [Street, Street 2]
    country: {column: Country, transform: [country_code]}
    on_incomplete: drop
  photoType: {value: unknown}
key: email
"""
COLUMNS = ["First Name", "Nick", "Email", "Street", "Street 2", "Country", "Joined"]


def test_choices_of_reads_one_choice_per_column_and_leaves_the_rest() -> None:
    chosen = choices_of(parse(BASE), COLUMNS)
    assert chosen["First Name"].as_json() == {"kind": "field", "field": "firstName"}
    assert chosen["Email"].as_json() == {"kind": "entry", "field": "emails", "type": "work"}
    assert chosen["Street 2"].as_json() == {"kind": "address", "field": "lines", "group": 0}
    assert chosen["Country"].options == {"transform": ["country_code"]}
    assert chosen["Nick"].kind == chosen["Joined"].kind == "none"  # read only by a fallback list
    assert chosen["Email"].notes == ['header "Email"']


def test_build_with_no_choices_writes_the_same_mapping_comments_included() -> None:
    draft = parse(BASE)
    rebuilt = build(draft, COLUMNS, {})
    assert rebuilt.fields["firstName"] == draft.fields["firstName"]
    assert rebuilt.fields["fullName"].spec == {"column": ["Nick", "First Name"]}  # kept as written
    assert rebuilt.fields["photoType"].spec == {"value": "unknown"}
    assert rebuilt.entries == draft.entries
    assert rebuilt.addresses[0].parts == draft.addresses[0].parts
    assert rebuilt.key == "email"


def test_build_places_each_choice_and_says_it_was_chosen() -> None:
    chosen = {
        "Email": Choice(),
        "Street 2": Choice(),
        "Nick": Choice("entry", "phones", "mobile"),
        "Joined": Choice("property", "joined", "date", format="%d/%m/%Y"),
        "Country": Choice("address", "country", group=1, options={"transform": ["country_code"]}),
    }
    draft = build(parse(BASE), COLUMNS, chosen)
    assert "emails" not in draft.entries
    assert draft.entries["phones"] == [Field({"column": "Nick", "type": "mobile"}, [CHOSEN_NOTE])]
    assert draft.properties["joined"].spec == {"column": "Joined", "type": "date",
                                               "format": "%d/%m/%Y"}  # fmt: skip
    assert [g.parts.get("lines", Field(None)).spec for g in draft.addresses] == ["Street", None]
    assert draft.addresses[1].parts["country"].notes == [CHOSEN_NOTE]


@pytest.mark.parametrize(
    ("choice", "level", "review"),
    [
        (Choice("field", "jobTitle", notes=['header "Title": a job title (check: Mr/Ms)']), "low",
         True),
        (Choice("field", "firstName", notes=['header "First Name"']), "high", False),
        (Choice("field", "phone", notes=["header Cell", "confidence: medium"]), "medium", False),
        (Choice("field", "age", notes=["confidence: low"]), "low", True),
        (Choice(notes=["offered by init as property plan (commented out)"]), "", True),
        (Choice(), "", False),
    ],
)  # fmt: skip
def test_confidence_and_what_is_left_for_review(choice: Choice, level: str, review: bool) -> None:
    assert (confidence(choice), needs_review(choice)) == (level, review)


# --- the session, on real files -------------------------------------------------------------------
def test_the_session_starts_from_the_suggestion_and_lists_review_columns_first(
    review_export: Path, tmp_path: Path
) -> None:
    state = Review(review_export, tmp_path / "m.yaml").state()
    columns = {c["name"]: c for c in state["columns"]}
    assert state["started"] == "init's suggestion" and not state["output_exists"]
    assert [c["review"] for c in state["columns"]] == sorted(
        (c["review"] for c in state["columns"]), reverse=True
    )
    assert columns["Signup Date"]["review"] and columns["Signup Date"]["offered"] == {
        "kind": "property", "field": "signup-date", "type": "date", "format": "%d/%m/%Y"
    }  # fmt: skip
    assert columns["Email"]["filled"] == 30 and columns["Email"]["rows"] == 30
    assert len(columns["Notes"]["values"]) == 5
    assert columns["Notes"]["values"][0].startswith("Long story.")  # the odd one first


def test_the_preview_shows_payloads_and_the_validators_own_messages(
    review_export: Path, tmp_path: Path
) -> None:
    session = Review(review_export, tmp_path / "m.yaml")
    preview = session.preview({})
    assert (preview["error"], preview["checked"], preview["invalid"]) == (None, 30, 2)
    third = preview["rows"][2]
    assert third["row"] == 3 and not third["valid"]
    assert third["issues"][0]["rule"] == "max_length" and third["issues"][0]["column"] == "Notes"
    assert preview["rows"][0]["payload"]["emails"] == [{"type": "work",
                                                         "value": "ella1@example.com"}]  # fmt: skip


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ({"kind": "property", "field": "joined", "type": "decimal"}, "'decimal' is not a property"),
        ({"kind": "entry", "field": "phones", "type": "cell"}, "cell"),
        ({"kind": "field", "field": "firstName", "options": {"transform": ["shout"]}}, "shout"),
    ],
)
def test_an_edit_the_loader_refuses_gets_the_loaders_message(
    review_export: Path, tmp_path: Path, choice: dict[str, Any], message: str
) -> None:
    output = tmp_path / "m.yaml"
    session = Review(review_export, output)
    answer = session.preview({"choices": {"Legacy ID": choice}})
    assert answer["error"].startswith(f"{output}, line ") and message in answer["error"]
    assert session.save({"choices": {"Legacy ID": choice}})["saved"] is False
    assert not output.exists()


def test_choices_for_a_column_the_file_lacks_are_refused(
    review_export: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"not a column of export\.csv: Nope"):
        Review(review_export, tmp_path / "m.yaml").preview({"choices": {"Nope": {}}})


def test_save_asks_before_replacing_a_file_and_writes_what_validate_reads(
    review_export: Path, tmp_path: Path
) -> None:
    output = tmp_path / "m.yaml"
    output.write_text("# mine\n", encoding="utf-8")
    session = Review(review_export, output)
    edits: dict[str, Any] = {"choices": {"Notes": {"kind": "none"}}}
    answer = session.save(edits)
    assert answer == {"saved": False, "exists": True,
                      "message": f"{output} exists already: Overwrite replaces it"}  # fmt: skip
    assert output.read_text(encoding="utf-8") == "# mine\n"
    assert session.save({**edits, "overwrite": True})["saved"] is True
    mapping = load_mapping(output)
    mapping.bind(session.source.columns)
    assert "Notes" not in mapping.columns and "Email" in mapping.columns


def test_the_session_starts_from_a_mapping_and_keeps_its_comments(
    review_export: Path, tmp_path: Path
) -> None:
    given = tmp_path / "given.yaml"
    given.write_text("customer:\n  # my own note\n  lastName: Last Name\n  emails: [Email]\n",
                     encoding="utf-8")  # fmt: skip
    session = Review(review_export, given, given)
    state = session.state()
    last = next(c for c in state["columns"] if c["name"] == "Last Name")
    assert state["started"] == f"the mapping {given}" and state["output_exists"]
    assert last["evidence"] == ["my own note"]
    assert "# my own note\n  lastName: Last Name" in session.preview({})["yaml"]


def test_check_all_rows_gives_the_reports_groups(review_export: Path, tmp_path: Path) -> None:
    answer = Review(review_export, tmp_path / "m.yaml").check_all({})
    assert (answer["rows"], answer["valid"], answer["invalid"]) == (30, 28, 2)
    assert "Issues, grouped by what is wrong" in answer["html"]
    assert "<b>2 rows</b>: too long (max 200) in <b>Notes</b>" in answer["html"]


def test_the_page_allows_exactly_its_own_script_and_style() -> None:
    html, csp = page_html()
    assert "/*JS*/" not in html and "/*CSS*/" not in html
    assert csp.startswith("default-src 'none'; script-src 'sha256-")
    assert "'unsafe-inline'" not in csp and "connect-src 'self'" in csp


# --- the server's guard -----------------------------------------------------------------------
async def test_every_request_needs_the_token_and_nothing_else_is_served(
    review_export: Path, tmp_path: Path
) -> None:
    async with (
        ReviewServer(Review(review_export, tmp_path / "m.yaml")) as server,
        aiohttp.ClientSession() as http,
    ):
        base = f"http://127.0.0.1:{server.port}"

        async def status(path: str, method: str = "GET", **kwargs: Any) -> int:
            async with http.request(method, base + path, **kwargs) as answer:
                return answer.status

        token = server.token
        assert await status(f"/{token}/") == 200
        assert await status(f"/{token}/api/state") == 200
        assert await status("/") == 403
        assert await status("/api/state") == 403
        wrong = token[:-1] + ("y" if token.endswith("x") else "x")  # one character off
        assert await status(f"/{wrong}/api/state") == 403
        for outside in ("/etc/passwd", "static/review.js", "api/file?path=/etc/passwd",
                        "..%2f..%2fetc%2fpasswd", f"../{review_export}"):  # fmt: skip
            assert await status(f"/{token}/{outside}") in (403, 404)
        assert await status(f"/{token}/api/save", "POST", data="{}") == 403  # not JSON: a form
        evil = {"Origin": "http://evil.example", "Content-Type": "application/json"}
        assert await status(f"/{token}/api/save", "POST", data="{}", headers=evil) == 403
        assert await status(f"/{token}/", headers={"Host": f"evil.example:{server.port}"}) == 403
        assert not (tmp_path / "m.yaml").exists()
        elsewhere = tmp_path / "elsewhere.yaml"
        body = {"choices": {}, "path": str(elsewhere), "output": str(elsewhere)}
        assert await status(f"/{token}/api/save", "POST", json=body) == 200
    assert (tmp_path / "m.yaml").exists() and not elsewhere.exists()  # only -o is ever written


def this_machines_address() -> str | None:
    """The address this machine has on its network (a UDP connect sends nothing), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_the_server_is_bound_to_loopback_only(review_export: Path, tmp_path: Path) -> None:
    async with ReviewServer(Review(review_export, tmp_path / "m.yaml")) as server:
        assert [address[0] for address in server.addresses] == ["127.0.0.1"]
        outside = this_machines_address()
        if outside is not None:  # the same port on the machine's network address: nobody
            with (
                pytest.raises(ConnectionRefusedError),
                socket.create_connection((outside, server.port), timeout=5),
            ):
                pass
        assert server.url == f"http://127.0.0.1:{server.port}/{server.token}/"
        assert len(server.token) >= 32


async def test_a_bad_edit_is_a_400_with_the_message(review_export: Path, tmp_path: Path) -> None:
    async with (
        ReviewServer(Review(review_export, tmp_path / "m.yaml")) as server,
        aiohttp.ClientSession() as http,
    ):
        body = {"choices": {"Email": {"kind": "nothing"}}}
        async with http.post(server.url + "api/preview", json=body) as answer:
            assert answer.status == 400
            assert await answer.json() == {"error": "unknown kind 'nothing': one of none, field, "
                                                    "entry, address, property"}  # fmt: skip


async def test_check_all_rows_streams_its_progress_then_the_report(
    review_export: Path, tmp_path: Path
) -> None:
    async with (
        ReviewServer(Review(review_export, tmp_path / "m.yaml")) as server,
        aiohttp.ClientSession() as http,
        http.post(server.url + "api/check", json={}) as answer,
    ):
        assert answer.headers["Content-Type"] == "application/x-ndjson"
        assert answer.headers["Cache-Control"] == "no-store"
        lines = [json.loads(line) for line in (await answer.text()).splitlines()]
    assert lines[:-1] == [{"checked": 30}]
    done = lines[-1]["done"]
    assert (done["rows"], done["invalid"]) == (30, 2) and "too long (max 200)" in done["html"]


# --- the command ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "Error: missing.csv: no such file: check the path"),
        (["{data}", "-m", "{bad}"], "Error: {bad}, line 2: not valid YAML"),
        (["{data}", "-m", "{unfit}"], "Error: {unfit}, line 1: column 'Phone' is not in the CSV"),
        (["{data}", "--encoding", "klingon"], "Error: {data}: "),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    invoke: Callable[..., Result], review_export: Path, tmp_path: Path, args: list[str],
    message: str,
) -> None:  # fmt: skip
    bad = tmp_path / "bad.yaml"
    bad.write_text("customer: [firstName\n", encoding="utf-8")
    unfit = tmp_path / "unfit.yaml"
    unfit.write_text("customer: {phones: [Phone]}\n", encoding="utf-8")
    names = {"data": review_export, "bad": bad, "unfit": unfit}
    given = [a.format(**names) for a in args]
    result = invoke("review", *given, "-o", tmp_path / "out.yaml", "--no-browser")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message.format(**names))


def test_the_output_may_not_be_the_file(invoke: Callable[..., Result], review_export: Path) -> None:
    result = invoke("review", review_export, "-o", review_export, "--no-browser")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_a_port_in_use_is_one_line_and_exit_2(
    invoke: Callable[..., Result], review_export: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("review", review_export, "-o", tmp_path / "m.yaml", "--port", port,
                        "--no-browser")  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert len(result.stderr.splitlines()) == 1


def test_the_first_line_is_the_url_and_done_stops_the_server(
    review_process: Callable[..., Any], post: Callable[[str, object], Any], review_export: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    process, url = review_process(review_export, "-o", tmp_path / "m.yaml", "--no-browser")
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    with urllib.request.urlopen(url + "api/state", timeout=10) as answer:
        assert json.load(answer)["file"] == "export.csv"
    assert post(url + "api/done", {}) == {"done": True}
    assert process.wait(10) == 0
    assert not (tmp_path / "m.yaml").exists()


@pytest.mark.parametrize(
    ("change", "columns", "system"),
    [
        ({"delimiter": ";"}, 1, "no preset fits"),  # the whole header is one column now
        ({"preset": "shopify-customers"}, 7, "looks like a Shopify"),
        ({"encoding": "latin-1"}, 7, "no preset fits"),
    ],
)
def test_the_page_reads_the_file_again_as_told(
    review_export: Path, tmp_path: Path, change: dict[str, str], columns: int, system: str
) -> None:
    state = Review(review_export, tmp_path / "m.yaml").change_source(change)
    assert len(state["columns"]) == columns
    assert state["source"]["system"].startswith(system)


def test_a_workbook_is_reviewed_sheet_by_sheet(tmp_path: Path) -> None:
    """The first sheet holding a table by default (a read-me sheet before it passed over), and
    any other the page names; a workbook has no encoding or delimiter to change."""
    book = Path(__file__).parent / "data" / "formats" / "readme_first.xlsx"
    review = Review(book, tmp_path / "m.yaml")
    assert (review.state()["source"]["sheet"], review.state()["source"]["encoding"]) == (
        "Customers", "xlsx")  # fmt: skip
    assert any("sheets before it hold no table" in w for w in review.state()["source"]["warnings"])
    assert review.change_source({"sheet": "1"})["source"]["sheet"] == "Read me"
    assert review.change_source({"sheet": "2"})["source"]["sheet"] == "Customers"


def test_ctrl_c_stops_the_server_with_exit_0(
    review_process: Callable[..., Any], review_export: Path, tmp_path: Path
) -> None:
    process, url = review_process(review_export, "-o", tmp_path / "m.yaml", "--no-browser")
    process.send_signal(signal.SIGINT)
    assert process.wait(10) == 0
    with pytest.raises(OSError):  # nobody listens there any more
        urllib.request.urlopen(url, timeout=5)


EXPORTS = sorted((ROOT / "tests" / "data" / "exports").glob("*.csv"))


@pytest.mark.parametrize("export", EXPORTS, ids=[p.stem for p in EXPORTS])
def test_every_columns_own_choice_posted_back_writes_the_same_mapping(
    export: Path, tmp_path: Path
) -> None:
    """The page's model loses nothing of init's suggestion, presets' fallbacks and groups
    included: the choices it shows, posted back unchanged, write the same file."""
    session = Review(export, tmp_path / "m.yaml")
    state = session.state()
    echoed = {"choices": {c["name"]: c["choice"] for c in state["columns"]}}
    preview = session.preview(echoed)
    assert preview["error"] is None
    assert preview["yaml"] == state["yaml"]
