"""The Sheets/OAuth fake, driven by the real gspread + google-auth stack it stands in for."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gspread
import pytest
import requests
from google.auth.exceptions import RefreshError
from gspread.exceptions import APIError, SpreadsheetNotFound
from gspread.utils import InsertDataOption, ValueInputOption

from hilt_sheets.testing import FakeGoogle, FormulaCell

EMAIL = "hilt-test@proj.iam.gserviceaccount.com"
OTHER = "intruder@proj.iam.gserviceaccount.com"


@pytest.fixture
def g() -> Iterator[FakeGoogle]:
    with FakeGoogle() as fake:
        yield fake


@pytest.fixture
def info(g: FakeGoogle) -> dict[str, Any]:
    return g.make_service_account(email=EMAIL)


@pytest.fixture
def gc(g: FakeGoogle, info: dict[str, Any]) -> gspread.Client:
    return g.client(info)


@pytest.fixture
def sid(g: FakeGoogle) -> str:
    return g.create_spreadsheet(title="HILT", sheets=("Sheet1", "LLM Logs"), shared_with=[EMAIL])


def api_paths(g: FakeGoogle, method: str) -> list[str]:
    return [r.path for r in g.requests if r.method == method and r.path != "/token"]


def test_credentials_shape(g: FakeGoogle, info: dict[str, Any]) -> None:
    assert info["type"] == "service_account"
    assert info["client_email"] == EMAIL
    assert info["token_uri"] == f"{g.base_url}/token"
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert g.make_service_account(email=EMAIL)["private_key"] != info["private_key"]


def test_open_by_key_and_worksheet(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    assert sh.title == "HILT"
    ws = sh.worksheet("LLM Logs")
    assert (ws.index, ws.row_count, ws.col_count) == (1, 1000, 26)
    with pytest.raises(gspread.exceptions.WorksheetNotFound):
        sh.worksheet("nope")
    meta = [r for r in g.requests if r.path == f"/v4/spreadsheets/{sid}"]
    assert meta[0].query == {"includeGridData": ["false"]}
    assert meta[0].email == EMAIL


def test_add_worksheet_header_and_reads(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    ws = sh.add_worksheet("Bob's log", rows=5, cols=3)
    assert sh.worksheet("Bob's log").id == ws.id
    with pytest.raises(APIError) as err:
        sh.add_worksheet("Bob's log", rows=5, cols=3)
    assert "already exists" in str(err.value)
    ws.update([["ts", "prompt", "tokens"]], "A1")
    assert api_paths(g, "PUT")[-1] == f"/v4/spreadsheets/{sid}/values/'Bob''s log'!A1"
    assert ws.get_all_values() == [["ts", "prompt", "tokens"]]
    assert ws.row_values(1) == ["ts", "prompt", "tokens"]
    assert ws.get("A1:B1") == [["ts", "prompt"]]
    assert ws.col_values(2) == ["prompt"]
    assert g.values(sid, "Bob's log") == [["ts", "prompt", "tokens"]]
    ws.clear()
    assert ws.get_all_values() == [[]]


def test_update_outside_grid_and_range_overflow(gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).add_worksheet("small", rows=2, cols=2)
    with pytest.raises(APIError) as err:
        ws.update([["x"]], "A3")
    assert err.value.code == 400
    assert "exceeds grid limits" in str(err.value)
    with pytest.raises(APIError, match="exceeds grid limits"):
        ws.update([["a", "b", "c"]], "A1")
    with pytest.raises(APIError, match="tried writing to row"):
        ws.update([["a"], ["b"]], "A1:B1")


def test_append_rows_raw_never_formulas(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    ws.update([["a", "b", "c"]], "A1")
    ws.append_rows([['=HYPERLINK("http://x")', "42", 7], ["+1-2", "'quoted", 1.5]])
    assert g.values(sid, "LLM Logs") == [
        ["a", "b", "c"],
        ['=HYPERLINK("http://x")', "42", 7],
        ["+1-2", "'quoted", 1.5],
    ]
    assert g.formula_cells == []
    append = [r for r in g.requests if r.path.endswith(":append")]
    assert len(append) == 1  # one HTTP request however many rows
    # gspread 6.2.1 sends the bare sheet title when table_range is not given
    assert append[0].path == f"/v4/spreadsheets/{sid}/values/'LLM Logs':append"
    assert append[0].query["valueInputOption"] == ["RAW"]
    assert append[0].body == {
        "values": [['=HYPERLINK("http://x")', "42", 7], ["+1-2", "'quoted", 1.5]]
    }
    assert (g.append_count, g.appended_rows) == (1, 2)


def test_append_rows_user_entered_records_formulas(
    g: FakeGoogle, gc: gspread.Client, sid: str
) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    ws.update([["a", "b", "c", "d", "e", "f"]], "A1")
    row = ['=IMPORTXML("http://evil","//a")', "42", "-5", "-rm", "'=literal", "@x", "-"]
    res = ws.append_rows([row], value_input_option=ValueInputOption.user_entered)
    assert res["updates"]["updatedRange"] == "'LLM Logs'!A2:G2"
    assert res["tableRange"] == "'LLM Logs'!A1:F1"
    assert g.values(sid, "LLM Logs")[1] == [
        '=IMPORTXML("http://evil","//a")',
        42,
        -5,
        "-rm",
        "=literal",
        "@x",
        "-",
    ]
    assert g.formula_cells == [
        FormulaCell(sid, "LLM Logs", 2, 1, '=IMPORTXML("http://evil","//a")'),
        (sid, "LLM Logs", 2, 4, "-rm"),
        (sid, "LLM Logs", 2, 6, "@x"),
    ]
    # FORMATTED_VALUE (gspread's default) renders numbers as text, as the real API does.
    assert ws.row_values(2)[1:3] == ["42", "-5"]


def test_append_grows_grid(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).add_worksheet("grow", rows=1, cols=2)
    ws.update([["h1", "h2"]], "A1")
    ws.append_rows([["1", "2", "3"], ["4", "5", "6"]])
    assert g.grid_size(sid, "grow") == (3, 3)
    assert g.values(sid, "grow")[2] == ["4", "5", "6"]
    ws.append_rows([["x"]], insert_data_option=InsertDataOption.insert_rows)
    assert g.grid_size(sid, "grow") == (4, 3)


def test_resize_and_add_rows(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Sheet1")
    ws.resize(rows=10, cols=4)
    ws.add_rows(5)
    assert g.grid_size(sid, "Sheet1") == (15, 4)
    ws.spreadsheet.batch_update(
        {"requests": [{"appendDimension": {"sheetId": ws.id, "dimension": "COLUMNS", "length": 2}}]}
    )
    assert g.grid_size(sid, "Sheet1") == (15, 6)
    ws.spreadsheet.batch_update({"requests": [{"repeatCell": {"range": {}}}]})  # accepted


def test_unshared_account_gets_403(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    intruder = g.client(g.make_service_account(email=OTHER))
    with pytest.raises(PermissionError) as err:
        intruder.open_by_key(sid)
    cause = err.value.__cause__
    assert isinstance(cause, APIError)
    assert cause.code == 403
    assert cause.error["status"] == "PERMISSION_DENIED"
    assert cause.error["message"] == "The caller does not have permission"

    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.unshare(sid, EMAIL)
    with pytest.raises(APIError) as api_err:
        ws.append_rows([["late"]])
    assert api_err.value.code == 403
    assert g.values(sid, "LLM Logs") == []


def test_unknown_spreadsheet_404(gc: gspread.Client) -> None:
    with pytest.raises(SpreadsheetNotFound):
        gc.open_by_key("does-not-exist")


def test_write_quota_429_and_refill(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.write_quota_per_minute = 3
    for i in range(3):
        ws.append_rows([[str(i)]])
    with pytest.raises(APIError) as err:
        ws.append_rows([["over"]])
    assert err.value.code == 429
    assert err.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert "'Write requests per minute per user'" in err.value.error["message"]
    assert ws.get_all_values() == [["0"], ["1"], ["2"]]  # reads have their own quota
    g.advance(61)
    ws.append_rows([["after"]])
    assert g.append_count == 4


def test_read_quota(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    g.read_quota_per_minute = 2
    ws = gc.open_by_key(sid).worksheet("Sheet1")  # two metadata reads
    with pytest.raises(APIError, match="Read requests per minute per user"):
        ws.get_all_values()
    ws.append_rows([["writes are counted separately"]])


def test_cell_character_limit(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    with pytest.raises(APIError) as err:
        ws.append_rows([["ok", "x" * 50_001]])
    assert err.value.code == 400
    assert err.value.error["message"] == (
        "Your input contains more than the maximum of 50000 characters in a single cell."
    )
    assert g.values(sid, "LLM Logs") == []
    assert g.append_count == 0
    ws.append_rows([["x" * 50_000]])
    assert len(g.values(sid, "LLM Logs")[0][0]) == 50_000


def test_spreadsheet_cell_limit(gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    with pytest.raises(APIError) as err:
        sh.add_worksheet("huge", rows=400_000, cols=26)
    assert err.value.code == 400
    assert "above the limit of 10000000 cells" in str(err.value)
    assert [w.title for w in sh.worksheets()] == ["Sheet1", "LLM Logs"]


def test_token_refresh_after_revoke(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    grants = [r for r in g.requests if r.path == "/token" and r.status == 200]
    assert len(grants) == 1
    assert grants[0].email == EMAIL
    g.revoke_tokens()
    ws.append_rows([["after revoke"]])
    assert [r.status for r in g.requests[-3:]] == [401, 200, 200]  # 401, /token, retried append
    assert g.requests[-2].path == "/token"
    assert g.values(sid, "LLM Logs") == [["after revoke"]]


def test_expired_token_is_refreshed(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    g.advance(3600)  # the fake's clock says the token expired; google-auth's does not
    sh.worksheet("Sheet1")
    assert [r.status for r in g.requests[-3:]] == [401, 200, 200]


def test_token_endpoint_rejects_bad_keys(g: FakeGoogle, info: dict[str, Any], sid: str) -> None:
    forged = dict(info, private_key=_other_key(g))
    with pytest.raises(RefreshError, match="invalid_grant"):
        g.client(forged).open_by_key(sid)
    unknown = dict(info, client_email="ghost@proj.iam.gserviceaccount.com", private_key_id="x")
    with pytest.raises(RefreshError, match="invalid_grant"):
        g.client(unknown).open_by_key(sid)
    with pytest.raises(RefreshError, match="invalid_scope"):
        g.client(info, scopes=["https://www.googleapis.com/auth/drive"]).open_by_key(sid)


def _other_key(g: FakeGoogle) -> str:
    return g.make_service_account(email="someone-else@proj.iam.gserviceaccount.com")["private_key"]


def test_api_requires_bearer_token(g: FakeGoogle, sid: str) -> None:
    with requests.Session() as s:
        s.trust_env = False
        r = s.get(f"{g.base_url}/v4/spreadsheets/{sid}")
        assert r.status_code == 401
        assert r.json()["error"]["status"] == "UNAUTHENTICATED"
        r = s.get(f"{g.base_url}/v4/spreadsheets/{sid}", headers={"Authorization": "Bearer no"})
        assert r.status_code == 401


def test_lose_next_response(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.lose_next_response(kind="write")
    with pytest.raises(requests.exceptions.ConnectionError):
        ws.append_rows([["applied but unacknowledged"]])
    assert g.values(sid, "LLM Logs") == [["applied but unacknowledged"]]
    assert g.append_count == 1
    assert g.requests[-1].status == 0
    ws.append_rows([["next"]])  # only one response is lost
    assert g.append_count == 2


def test_outage(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.outage(True)
    with pytest.raises(APIError) as err:
        ws.append_rows([["down"]])
    assert err.value.code == 503
    assert err.value.error["status"] == "UNAVAILABLE"
    g.outage(True, drop=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        ws.get_all_values()
    g.outage(False)
    ws.append_rows([["up"]])
    assert g.values(sid, "LLM Logs") == [["up"]]


def test_fail_next(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.fail_next(500, times=2, kind="write")
    for _ in range(2):
        with pytest.raises(APIError) as err:
            ws.append_rows([["x"]])
        assert err.value.error["status"] == "INTERNAL"
    assert ws.get_all_values() == [[]]  # reads pass through
    g.fail_next(429, kind="any")
    with pytest.raises(APIError) as quota:
        ws.get_all_values()
    assert quota.value.code == 429
    assert "Read requests" in quota.value.error["message"]
    ws.append_rows([["ok"]])
    assert g.values(sid, "LLM Logs") == [["ok"]]


def test_latency_lets_client_time_out(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.latency = 0.5
    gc.set_timeout(0.1)
    with pytest.raises(requests.exceptions.Timeout):
        ws.append_rows([["slow"]])
    g.latency = 0
    gc.set_timeout(None)
    assert g.values(sid, "LLM Logs") == [["slow"]]  # applied, like a slow real write can be


def test_service_account_from_dict_with_http_client_class(
    g: FakeGoogle, info: dict[str, Any], sid: str
) -> None:
    gc = gspread.service_account_from_dict(info, http_client=g.http_client_class())
    assert gc.open_by_key(sid).worksheet("Sheet1").title == "Sheet1"


def test_fail_after_applying(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.fail_next(503, kind="write", applied=True)
    with pytest.raises(APIError) as err:
        ws.append_rows([["applied, answered 503"]])
    assert err.value.code == 503
    assert g.values(sid, "LLM Logs") == [["applied, answered 503"]]
    assert g.append_count == 1


def test_timed_outage_ends_by_itself(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.outage(True, seconds=0.3)
    with pytest.raises(APIError):
        ws.append_rows([["down"]])
    time.sleep(0.35)
    ws.append_rows([["up"]])
    assert g.values(sid, "LLM Logs") == [["up"]]


def test_pause_refuses_connections_and_resume_serves_on_the_same_port(
    g: FakeGoogle, gc: gspread.Client, sid: str
) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    url = g.base_url
    g.pause()
    assert not g.running
    with pytest.raises(requests.exceptions.ConnectionError):
        ws.append_rows([["nobody listens"]])
    g.resume()
    assert g.base_url == url
    ws.append_rows([["back"]])
    assert g.values(sid, "LLM Logs") == [["back"]]


def test_fail_for_some_seconds(g: FakeGoogle, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("LLM Logs")
    g.fail_next(429, kind="write", seconds=0.3)
    for _ in range(3):
        with pytest.raises(APIError) as err:
            ws.append_rows([["quota"]])
        assert err.value.code == 429
    assert ws.get_all_values() == [[]]  # reads pass
    time.sleep(0.35)
    ws.append_rows([["refilled"]])
    assert g.values(sid, "LLM Logs") == [["refilled"]]
