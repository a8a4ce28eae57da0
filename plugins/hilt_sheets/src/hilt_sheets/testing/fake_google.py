"""A loopback fake of Google's OAuth token endpoint and the Sheets v4 subset gspread 6 uses.

Tests drive the real gspread + google-auth stack against it, so auth, quota, grid-limit and
failure behaviour is exercised end to end without network access or a Google account.
Documented simplifications: formulas are stored, never evaluated (FORMATTED_VALUE reads return
the formula text); USER_ENTERED parses numbers and booleans but not dates, currency or
percentages; append finds "the table" as the rows below the last non-empty row of the range.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, NamedTuple, Self
from urllib.parse import parse_qs, unquote, urlsplit

import gspread
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.credentials import Credentials
from google.oauth2 import service_account
from requests import Response, Session

__all__ = [
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "SHEETS_SCOPE",
    "TOKEN_AUDIENCE",
    "FakeGoogle",
    "FormulaCell",
    "RecordedRequest",
]

TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
READONLY_SCOPE = SHEETS_SCOPE + ".readonly"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_CELL_CHARS = 50_000
MAX_CELLS = 10_000_000
TOKEN_TTL = 3599  # what Google actually returns
_GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
_PROJECT_NUMBER = "123456789012"

Kind = Literal["read", "write", "any"]

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
_CELL_CHARS_MSG = (
    f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
)
_CELLS_MSG = (
    f"This action would increase the number of cells in the workbook above the limit of "
    f"{MAX_CELLS} cells."
)
_BAD_JWT_TIME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)
# One endpoint of an A1 reference: column letters and/or a row number.
_A1_RE = re.compile(r"([A-Za-z]{0,3})(\d*)(?::([A-Za-z]{0,3})(\d*))?")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SIMPLE_TITLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_META_RE = re.compile(r"/v4/spreadsheets/([^/:]+)(:batchUpdate)?")
_VALUES_RE = re.compile(r"/v4/spreadsheets/([^/:]+)/values/([^/:]+)(?::(append|clear))?")
_BATCH_GET_RE = re.compile(r"/v4/spreadsheets/([^/:]+)/values:batchGet")


class FormulaCell(NamedTuple):
    """A cell the real Sheets would have turned into a live formula (1-based row/col)."""

    spreadsheet_id: str
    title: str
    row: int
    col: int
    text: str


@dataclass
class RecordedRequest:
    method: str
    path: str  # percent-decoded, e.g. /v4/spreadsheets/ID/values/'LLM Logs'!A1:append
    query: dict[str, list[str]]
    email: str | None  # the authenticated service account, None if auth failed
    body: Any  # parsed JSON (API) or form fields (/token)
    status: int = 0  # 0 when the connection was dropped instead of answered


class _ApiError(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message or _MESSAGES.get(code, "Request failed.")

    def body(self) -> dict[str, Any]:
        status = _STATUS.get(self.code, "UNKNOWN")
        return {"error": {"code": self.code, "message": self.message, "status": status}}


@dataclass
class _Sheet:
    sheet_id: int
    title: str
    rows: int = 1000
    cols: int = 26
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)

    def properties(self, index: int) -> dict[str, Any]:
        grid = {"rowCount": self.rows, "columnCount": self.cols}
        return {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": grid,
        }

    def resize(self, rows: int, cols: int) -> None:
        if rows < 1 or cols < 1:
            raise _ApiError(400, "Grid must have at least one row and one column.")
        self.rows, self.cols = rows, cols
        self.cells = {k: v for k, v in self.cells.items() if k[0] <= rows and k[1] <= cols}


@dataclass
class _Spreadsheet:
    spreadsheet_id: str
    title: str
    sheets: list[_Sheet]
    shared_with: set[str]

    def sheet(self, title: str) -> _Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def sheet_by_id(self, sheet_id: object) -> _Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise _ApiError(400, f"No grid with id: {sheet_id}")

    def new_sheet_id(self) -> int:
        while True:
            candidate = secrets.randbelow(2**31 - 1) + 1
            if all(s.sheet_id != candidate for s in self.sheets):
                return candidate

    def cell_count(self) -> int:
        return sum(s.rows * s.cols for s in self.sheets)


@dataclass(frozen=True)
class _Range:
    sheet: _Sheet
    r1: int
    c1: int
    r2: int
    c2: int
    bounded: bool  # "X:Y" form: writes must fit inside it
    whole: bool  # bare sheet title


@dataclass
class _Token:
    email: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class _Fault:
    status: int
    remaining: int
    kind: Kind
    applied: bool = False  # apply the request first, then answer ``status``
    until: float = 0.0  # time.monotonic(): every request until then, whatever ``remaining``


@dataclass
class _Outcome:
    status: int
    body: dict[str, Any]
    drop: bool = False
    delay: float = 0.0


def _col_num(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _col_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _is_a1(text: str) -> bool:
    m = _A1_RE.fullmatch(text)
    if m is None:
        return False
    c1, r1, c2, r2 = m.groups()
    if ":" not in text:
        return bool(c1 and r1)
    return bool((c1 or r1) and (c2 or r2))


def _quote_title(title: str) -> str:
    # The API leaves simple titles bare in the ranges it returns and quotes everything else.
    if _SIMPLE_TITLE_RE.fullmatch(title) and not _is_a1(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _label(sheet: _Sheet, r1: int, c1: int, r2: int, c2: int) -> str:
    start, end = f"{_col_letters(c1)}{r1}", f"{_col_letters(c2)}{r2}"
    return f"{_quote_title(sheet.title)}!{start}" + ("" if start == end else f":{end}")


def _split_range(text: str) -> tuple[str | None, str | None]:
    """Split "'It''s'!A1:B2" into ("It's", "A1:B2"); a bare A1 reference has no title."""
    if text.startswith("'"):
        parts, i = [], 1
        while True:
            j = text.find("'", i)
            if j < 0:
                raise _ApiError(400, f"Unable to parse range: {text}")
            if text.startswith("''", j):
                parts.append(text[i : j + 1])
                i = j + 2
                continue
            parts.append(text[i:j])
            rest = text[j + 1 :]
            break
        if rest == "":
            return "".join(parts), None
        if rest.startswith("!") and len(rest) > 1:
            return "".join(parts), rest[1:]
        raise _ApiError(400, f"Unable to parse range: {text}")
    if "!" in text:
        title, _, a1 = text.partition("!")
        return title, a1
    return (None, text) if _is_a1(text) else (text, None)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _rs256_valid(key: rsa.RSAPublicKey, signed: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _user_entered(text: str) -> tuple[Any, bool]:
    """Return (stored value, is_formula) the way Sheets parses typed-in text."""
    if _NUMBER_RE.fullmatch(text):
        number = float(text)
        return (int(number) if number.is_integer() and abs(number) < 2**53 else number), False
    if text.startswith("'"):
        return text[1:], False  # a leading apostrophe forces literal text and is not stored
    if text.startswith("=") or (text[0] in "+-@" and len(text) > 1):
        return text, True
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE", False
    return text, False


def _formatted(value: Any) -> Any:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def _grid(rng: _Range, major: str = "ROWS", render: str = "FORMULA") -> list[list[Any]]:
    """Values in the range, trimmed like the API: no trailing blanks, blank rows as []."""
    by_line: dict[int, dict[int, Any]] = {}
    for (r, c), v in rng.sheet.cells.items():
        if rng.r1 <= r <= rng.r2 and rng.c1 <= c <= rng.c2:
            line, pos = (c, r) if major == "COLUMNS" else (r, c)
            by_line.setdefault(line, {})[pos] = _formatted(v) if render == "FORMATTED_VALUE" else v
    if not by_line:
        return []
    first_line, first_pos = (rng.c1, rng.r1) if major == "COLUMNS" else (rng.r1, rng.c1)
    out: list[list[Any]] = []
    for line in range(first_line, max(by_line) + 1):
        row = by_line.get(line, {})
        out.append([row.get(p, "") for p in range(first_pos, max(row) + 1)] if row else [])
    return out


def _query(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _input_option(query: Mapping[str, list[str]]) -> str:
    option = _query(query, "valueInputOption")
    if option is None:
        raise _ApiError(400, "'valueInputOption' is required but not specified")
    if option not in ("RAW", "USER_ENTERED"):
        raise _ApiError(400, f"Invalid value at 'value_input_option' ({option})")
    return option


def _rows(body: Any) -> list[list[Any]]:
    values = body.get("values") if isinstance(body, dict) else None
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise _ApiError(400, "Invalid value at 'data.values': expected a list of lists")
    if body.get("majorDimension") == "COLUMNS":
        height = max((len(c) for c in values), default=0)
        return [[c[i] if i < len(c) else None for c in values] for i in range(height)]
    return values


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGoogle


class _Handler(BaseHTTPRequestHandler):
    # One request per connection, so a dropped response never poisons a pooled connection.
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keeps pytest output readable

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            out = self.server.fake._dispatch(
                self.command, self.path, self.headers.get("Authorization"), raw
            )
        # A bug in the fake must surface as an answer the test can read, not as a hang.
        except Exception as exc:
            out = _Outcome(500, _ApiError(500, f"fake_google bug: {exc!r}").body())
        if out.delay > 0:
            time.sleep(out.delay)
        if out.drop:
            self.close_connection = True
            return
        payload = json.dumps(out.body).encode()
        try:
            self.send_response(out.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out during ``latency``; that is the scenario, not an error


class FakeGoogle:
    """Loopback Google OAuth + Sheets v4 fake. Use as ``with FakeGoogle() as g: ...``."""

    def __init__(self) -> None:
        self.write_quota_per_minute: int | None = 60
        self.read_quota_per_minute: int | None = 60
        self.clock: Callable[[], float] = time.monotonic
        self.latency = 0.0
        self.requests: list[RecordedRequest] = []  # API and /token requests, in arrival order
        self.formula_cells: list[FormulaCell] = []
        self.append_count = 0
        self.appended_rows = 0
        self._offset = 0.0
        self._lock = threading.RLock()
        self._keys: dict[str, tuple[str, rsa.RSAPublicKey]] = {}
        self._tokens: dict[str, _Token] = {}
        self._spreadsheets: dict[str, _Spreadsheet] = {}
        self._quota_log: dict[tuple[str, str], deque[float]] = {}
        self._faults: list[_Fault] = []
        self._losses: list[_Fault] = []
        self._outage: tuple[bool, bool] = (False, False)
        self._outage_until = 0.0  # time.monotonic() at which a timed outage ends
        self._port = 0  # kept across pause()/resume(): clients hold the base URL
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._client_class: type[gspread.HTTPClient] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.fake = self
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def pause(self) -> None:
        """Stop serving, as a crashed or unreachable server does: the port is closed, so
        connections are refused. Requests already being answered finish."""
        self.stop()

    def resume(self) -> None:
        """Serve again on the same port after :meth:`pause`."""
        if self._server is None:
            self.start()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeGoogle is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._port}"

    # -- time ------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (quota windows and token expiry follow it)."""
        with self._lock:
            self._offset += seconds

    # -- auth ------------------------------------------------------------------------------

    def make_service_account(
        self, email: str = "hilt-test@proj.iam.gserviceaccount.com", project_id: str = "proj"
    ) -> dict[str, str]:
        """Register a service account with a fresh RSA key; return its credentials JSON."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        key_id = secrets.token_hex(20)
        with self._lock:
            self._keys[key_id] = (email, key.public_key())
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**21)),
            "token_uri": f"{self.base_url}/token",
            "universe_domain": "googleapis.com",
        }

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token; clients must go back to /token."""
        with self._lock:
            self._tokens.clear()

    def http_client_class(self) -> type[gspread.HTTPClient]:
        """A gspread HTTPClient subclass that sends Google API URLs to this fake."""
        if self._client_class is not None:
            return self._client_class
        base_url = self.base_url

        class FakeGoogleHTTPClient(gspread.HTTPClient):
            def __init__(self, auth: Credentials, session: Session | None = None) -> None:
                super().__init__(auth, session)
                # Loopback traffic must not be sent to an HTTP(S)_PROXY from the environment;
                # google-auth refreshes tokens through a second, private session.
                self.session.trust_env = False
                token_session = getattr(self.session, "_auth_request_session", None)
                if isinstance(token_session, Session):
                    token_session.trust_env = False

            def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Response:
                for host in _GOOGLE_HOSTS:
                    if endpoint.startswith(host):
                        endpoint = base_url + endpoint[len(host) :]
                        break
                return super().request(method, endpoint, *args, **kwargs)

        self._client_class = FakeGoogleHTTPClient
        return FakeGoogleHTTPClient

    def client(
        self, service_account_info: Mapping[str, Any], scopes: Sequence[str] = (SHEETS_SCOPE,)
    ) -> gspread.Client:
        """A real gspread client authorized through google-auth against this fake."""
        creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(service_account_info), scopes=list(scopes)
        )
        return gspread.Client(creds, http_client=self.http_client_class())

    # -- spreadsheets ----------------------------------------------------------------------

    def create_spreadsheet(
        self,
        title: str = "HILT",
        sheets: Sequence[str] = ("Sheet1",),
        shared_with: Iterable[str] = (),
        rows: int = 1000,
        cols: int = 26,
    ) -> str:
        """Create a spreadsheet (new tabs default to 1000x26 like the real one); return its id."""
        tabs = [_Sheet(i, name, rows, cols) for i, name in enumerate(sheets)]
        spreadsheet_id = secrets.token_urlsafe(33)
        with self._lock:
            self._spreadsheets[spreadsheet_id] = _Spreadsheet(
                spreadsheet_id, title, tabs, set(shared_with)
            )
        return spreadsheet_id

    def share(self, spreadsheet_id: str, email: str) -> None:
        with self._lock:
            self._spreadsheets[spreadsheet_id].shared_with.add(email)

    def unshare(self, spreadsheet_id: str, email: str) -> None:
        with self._lock:
            self._spreadsheets[spreadsheet_id].shared_with.discard(email)

    def values(self, spreadsheet_id: str, title: str) -> list[list[Any]]:
        """The tab's stored cells as values.get with valueRenderOption=FORMULA returns them."""
        with self._lock:
            sheet = self._spreadsheets[spreadsheet_id].sheet(title)
            if sheet is None:
                raise KeyError(title)
            return _grid(_Range(sheet, 1, 1, sheet.rows, sheet.cols, False, True))

    def grid_size(self, spreadsheet_id: str, title: str) -> tuple[int, int]:
        """(rowCount, columnCount) of a tab."""
        with self._lock:
            sheet = self._spreadsheets[spreadsheet_id].sheet(title)
            if sheet is None:
                raise KeyError(title)
            return sheet.rows, sheet.cols

    # -- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        kind: Kind = "any",
        *,
        applied: bool = False,
        seconds: float | None = None,
    ) -> None:
        """Answer the next ``times`` API requests of ``kind`` with ``status`` (Google's format).

        ``applied=True``: carry each request out first, then answer ``status`` all the same,
        as Google sometimes does with a 500 or 503 (the append is in the sheet; the client
        is told it failed). ``seconds``: every request of ``kind`` for that long (real time)
        instead, e.g. ``fail_next(429, kind="write", seconds=3)`` for a quota that refills
        in three seconds."""
        until = time.monotonic() + seconds if seconds else 0.0
        with self._lock:
            self._faults.append(_Fault(status, times, kind, applied, until))

    def outage(self, on: bool, drop: bool = False, *, seconds: float | None = None) -> None:
        """Answer every API request 503 UNAVAILABLE, or close connections if ``drop``.

        ``seconds``: the outage ends by itself that long from now (real time, as the
        client's retries wait real time). The token endpoint stays up, as
        oauth2.googleapis.com usually does in a Sheets outage.
        """
        with self._lock:
            self._outage = (on, drop)
            self._outage_until = time.monotonic() + seconds if on and seconds else 0.0

    def lose_next_response(self, kind: Kind = "write") -> None:
        """Apply the next successful request of ``kind`` but close the connection unanswered."""
        with self._lock:
            self._losses.append(_Fault(0, 1, kind))

    # -- request handling ------------------------------------------------------------------

    def _dispatch(self, method: str, raw_path: str, auth: str | None, raw: bytes) -> _Outcome:
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        rec = RecordedRequest(method, unquote(split.path), query, None, None)
        with self._lock:
            self.requests.append(rec)
            if split.path == "/token":
                out = self._token(method, raw, rec)
            else:
                out = self._api(method, split.path, query, auth, raw, rec)
                out.delay = self.latency
            rec.status = 0 if out.drop else out.status
            return out

    def _token(self, method: str, raw: bytes, rec: RecordedRequest) -> _Outcome:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        rec.body = form
        if method != "POST" or form.get("grant_type") != JWT_BEARER:
            return _Outcome(400, {"error": "unsupported_grant_type"})

        def invalid(error: str, description: str) -> _Outcome:
            return _Outcome(400, {"error": error, "error_description": description})

        try:
            head_b64, claims_b64, sig_b64 = form.get("assertion", "").split(".")
            header = json.loads(_b64decode(head_b64))
            claims = json.loads(_b64decode(claims_b64))
            signature = _b64decode(sig_b64)
        except ValueError:
            return invalid("invalid_grant", "Invalid JWT")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return invalid("invalid_grant", "Invalid JWT")
        if header.get("alg") != "RS256":
            return invalid("invalid_grant", "Invalid JWT: unsupported algorithm")
        kid, iss = header.get("kid"), claims.get("iss")
        candidates = [self._keys[kid]] if kid in self._keys else []
        candidates = candidates or [k for k in self._keys.values() if k[0] == iss]
        if not candidates:
            return invalid("invalid_grant", "Invalid grant: account not found")
        signed = f"{head_b64}.{claims_b64}".encode()
        email = next((e for e, key in candidates if _rs256_valid(key, signed, signature)), None)
        if email is None:
            return invalid("invalid_grant", "Invalid JWT Signature.")
        if iss != email:
            return invalid("invalid_grant", "Invalid JWT: issuer does not match the key")
        if claims.get("aud") != TOKEN_AUDIENCE:
            return invalid("invalid_grant", "Invalid JWT: Failed audience check.")
        iat, exp, wall = claims.get("iat"), claims.get("exp"), time.time()
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            return invalid("invalid_grant", _BAD_JWT_TIME)
        if exp <= wall or iat > wall + 300 or exp - iat > 3600:
            return invalid("invalid_grant", _BAD_JWT_TIME)
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes & {SHEETS_SCOPE, READONLY_SCOPE}:
            return invalid("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        self._tokens[token] = _Token(email, scopes, self.now() + TOKEN_TTL)
        rec.email = email
        body = {"access_token": token, "expires_in": TOKEN_TTL, "token_type": "Bearer"}
        return _Outcome(200, body)

    def _take(self, queue: list[_Fault], kind: str) -> _Fault | None:
        now = time.monotonic()
        for fault in list(queue):
            if fault.until:
                if now >= fault.until:
                    queue.remove(fault)
                elif fault.kind in ("any", kind):
                    return fault
                continue
            if fault.kind in ("any", kind):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.remove(fault)
                return fault
        return None

    def _api(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        auth: str | None,
        raw: bytes,
        rec: RecordedRequest,
    ) -> _Outcome:
        kind = "read" if method == "GET" else "write"
        try:
            rec.body = json.loads(raw) if raw else None
        except ValueError:
            rec.body = raw.decode("utf-8", "replace")
            return _Outcome(400, _ApiError(400, "Invalid JSON payload received.").body())
        on, drop = self._outage
        if on and self._outage_until and time.monotonic() >= self._outage_until:
            on, self._outage, self._outage_until = False, (False, False), 0.0
        if on:
            return _Outcome(503, _ApiError(503).body(), drop=drop)
        try:
            token = self._tokens.get(auth[len("Bearer ") :]) if auth else None
            if token is None or token.expires_at <= self.now():
                raise _ApiError(401)
            rec.email = token.email
            fault = self._take(self._faults, kind)
            if fault is not None and not fault.applied:
                raise self._quota_error(kind) if fault.status == 429 else _ApiError(fault.status)
            if kind == "write" and SHEETS_SCOPE not in token.scopes:
                raise _ApiError(403, "Request had insufficient authentication scopes.")
            self._charge_quota(token.email, kind)
            body = self._route(method, path, query, rec.body, token.email)
            if fault is not None:  # applied: done, and answered as a failure all the same
                raise _ApiError(fault.status)
        except _ApiError as err:
            return _Outcome(err.code, err.body())
        return _Outcome(200, body, drop=self._take(self._losses, kind) is not None)

    def _quota_error(self, kind: str) -> _ApiError:
        name = "Write" if kind == "write" else "Read"
        return _ApiError(
            429,
            f"Quota exceeded for quota metric '{name} requests' and limit '{name} requests per "
            f"minute per user' of service 'sheets.googleapis.com' for consumer "
            f"'project_number:{_PROJECT_NUMBER}'.",
        )

    def _charge_quota(self, email: str, kind: str) -> None:
        limit = self.write_quota_per_minute if kind == "write" else self.read_quota_per_minute
        if limit is None:
            return
        # A sliding 60 s window: deterministic under a fake clock, unlike calendar minutes.
        log = self._quota_log.setdefault((email, kind), deque())
        now = self.now()
        while log and log[0] <= now - 60:
            log.popleft()
        if len(log) >= limit:
            raise self._quota_error(kind)
        log.append(now)

    def _spreadsheet(self, spreadsheet_id: str, email: str) -> _Spreadsheet:
        ss = self._spreadsheets.get(unquote(spreadsheet_id))
        if ss is None:
            raise _ApiError(404)
        if email not in ss.shared_with:
            raise _ApiError(403)
        return ss

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, email: str
    ) -> dict[str, Any]:
        if m := _META_RE.fullmatch(path):
            ss = self._spreadsheet(m[1], email)
            if method == "GET" and not m[2]:
                return self._metadata(ss)
            if method == "POST" and m[2]:
                return self._batch_update(ss, body)
        elif m := _VALUES_RE.fullmatch(path):
            ss = self._spreadsheet(m[1], email)
            rng = self._range(ss, unquote(m[2]))
            if method == "GET" and not m[3]:
                return self._read(rng, query)
            if method == "PUT" and not m[3]:
                return self._update(ss, rng, _input_option(query), body)
            if method == "POST" and m[3] == "append":
                return self._append(ss, rng, query, body)
            if method == "POST" and m[3] == "clear":
                return {"spreadsheetId": ss.spreadsheet_id, "clearedRange": self._clear(rng)}
        elif (m := _BATCH_GET_RE.fullmatch(path)) and method == "GET":
            ss = self._spreadsheet(m[1], email)
            ranges = [self._read(self._range(ss, r), query) for r in query.get("ranges", [])]
            return {"spreadsheetId": ss.spreadsheet_id, "valueRanges": ranges}
        raise _ApiError(404)

    def _metadata(self, ss: _Spreadsheet) -> dict[str, Any]:
        return {
            "spreadsheetId": ss.spreadsheet_id,
            "properties": {
                "title": ss.title,
                "locale": "en_US",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Etc/GMT",
            },
            "sheets": [{"properties": s.properties(i)} for i, s in enumerate(ss.sheets)],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{ss.spreadsheet_id}/edit",
        }

    def _range(self, ss: _Spreadsheet, text: str) -> _Range:
        title, a1 = _split_range(text)
        sheet = ss.sheets[0] if title is None else ss.sheet(title)
        if sheet is None or (a1 is not None and not _is_a1(a1)):
            raise _ApiError(400, f"Unable to parse range: {text}")
        if a1 is None:
            return _Range(sheet, 1, 1, sheet.rows, sheet.cols, bounded=False, whole=True)
        m = _A1_RE.fullmatch(a1)
        assert m is not None  # _is_a1 matched it
        c1s, r1s, c2s, r2s = m.groups()
        r1 = int(r1s) if r1s else 1
        c1 = _col_num(c1s) if c1s else 1
        if ":" in a1:
            r2 = int(r2s) if r2s else sheet.rows
            c2 = _col_num(c2s) if c2s else sheet.cols
            r1, r2, c1, c2 = min(r1, r2), max(r1, r2), min(c1, c2), max(c1, c2)
        else:
            r2, c2 = r1, c1
        if min(r1, c1) < 1:
            raise _ApiError(400, f"Unable to parse range: {text}")
        if r2 > sheet.rows or c2 > sheet.cols:
            raise self._grid_error(sheet, r1, c1, r2, c2)
        return _Range(sheet, r1, c1, r2, c2, bounded=":" in a1, whole=False)

    @staticmethod
    def _grid_error(sheet: _Sheet, r1: int, c1: int, r2: int, c2: int) -> _ApiError:
        return _ApiError(
            400,
            f"Range ({_label(sheet, r1, c1, r2, c2)}) exceeds grid limits. "
            f"Max rows: {sheet.rows}, max columns: {sheet.cols}",
        )

    def _read(self, rng: _Range, query: Mapping[str, list[str]]) -> dict[str, Any]:
        major = _query(query, "majorDimension") or "ROWS"
        render = _query(query, "valueRenderOption") or "FORMATTED_VALUE"
        out: dict[str, Any] = {
            "range": _label(rng.sheet, rng.r1, rng.c1, rng.r2, rng.c2),
            "majorDimension": major,
        }
        values = _grid(rng, major, render)
        if values:
            out["values"] = values
        return out

    def _cell_ops(
        self, ss: _Spreadsheet, sheet: _Sheet, r0: int, c0: int, rows: list[list[Any]], opt: str
    ) -> tuple[list[tuple[int, int, Any]], list[FormulaCell]]:
        """Validate and convert values before anything is written (writes are atomic)."""
        ops: list[tuple[int, int, Any]] = []
        formulas: list[FormulaCell] = []
        for i, row in enumerate(rows):
            for j, sent in enumerate(row):
                r, c, stored = r0 + i, c0 + j, sent
                if sent is None:  # null leaves the cell as it is
                    continue
                if isinstance(sent, str):
                    if len(sent) > MAX_CELL_CHARS:
                        raise _ApiError(400, _CELL_CHARS_MSG)
                    if sent and opt == "USER_ENTERED":
                        stored, is_formula = _user_entered(sent)
                        if is_formula:
                            formulas.append(FormulaCell(ss.spreadsheet_id, sheet.title, r, c, sent))
                elif not isinstance(sent, (int, float)):
                    raise _ApiError(400, f"Invalid values[{i}][{j}]: {json.dumps(sent)}")
                ops.append((r, c, None if stored == "" else stored))
        return ops, formulas

    def _commit(
        self, sheet: _Sheet, ops: list[tuple[int, int, Any]], formulas: list[FormulaCell]
    ) -> None:
        for r, c, value in ops:
            if value is None:
                sheet.cells.pop((r, c), None)
            else:
                sheet.cells[(r, c)] = value
        self.formula_cells.extend(formulas)

    def _update(self, ss: _Spreadsheet, rng: _Range, opt: str, body: Any) -> dict[str, Any]:
        rows = _rows(body)
        height, width = len(rows), max((len(r) for r in rows), default=0)
        r2, c2 = rng.r1 + max(height, 1) - 1, rng.c1 + max(width, 1) - 1
        if r2 > rng.sheet.rows or c2 > rng.sheet.cols:
            raise self._grid_error(rng.sheet, rng.r1, rng.c1, r2, c2)
        if rng.bounded and (r2 > rng.r2 or c2 > rng.c2):
            where = f"row [{r2}]" if r2 > rng.r2 else f"column [{_col_letters(c2)}]"
            written = _label(rng.sheet, rng.r1, rng.c1, rng.r2, rng.c2)
            raise _ApiError(
                400, f"Requested writing within range [{written}], but tried writing to {where}"
            )
        ops, formulas = self._cell_ops(ss, rng.sheet, rng.r1, rng.c1, rows, opt)
        self._commit(rng.sheet, ops, formulas)
        return {
            "spreadsheetId": ss.spreadsheet_id,
            "updatedRange": _label(rng.sheet, rng.r1, rng.c1, r2, c2),
            "updatedRows": height,
            "updatedColumns": width,
            "updatedCells": sum(len(r) for r in rows),
        }

    def _append(
        self, ss: _Spreadsheet, rng: _Range, query: Mapping[str, list[str]], body: Any
    ) -> dict[str, Any]:
        opt = _input_option(query)
        insert = _query(query, "insertDataOption") or "OVERWRITE"
        if insert not in ("OVERWRITE", "INSERT_ROWS"):
            raise _ApiError(400, f"Invalid value at 'insert_data_option' ({insert})")
        sheet, rows = rng.sheet, _rows(body)
        # The "table" is whatever data sits at or below the range, in its columns (a single
        # anchor cell looks right across the sheet, as the real table detection does).
        last_col = rng.c2 if rng.bounded or rng.whole else sheet.cols
        used = [k for k in sheet.cells if k[0] >= rng.r1 and rng.c1 <= k[1] <= last_col]
        start_row = max((r for r, _ in used), default=rng.r1 - 1) + 1
        start_col = min((c for _, c in used), default=1) if rng.whole else rng.c1
        height, width = len(rows), max((len(r) for r in rows), default=0)
        new_rows = sheet.rows + height if insert == "INSERT_ROWS" else sheet.rows
        new_rows = max(new_rows, start_row + height - 1)
        new_cols = max(sheet.cols, start_col + width - 1)
        ops, formulas = self._cell_ops(ss, sheet, start_row, start_col, rows, opt)
        if ss.cell_count() - sheet.rows * sheet.cols + new_rows * new_cols > MAX_CELLS:
            raise _ApiError(400, _CELLS_MSG)
        if insert == "INSERT_ROWS" and height:
            sheet.cells = {
                (r + height if r >= start_row else r, c): v for (r, c), v in sheet.cells.items()
            }
        sheet.rows, sheet.cols = new_rows, new_cols
        self._commit(sheet, ops, formulas)
        self.append_count += 1
        self.appended_rows += height
        updates: dict[str, Any] = {
            "spreadsheetId": ss.spreadsheet_id,
            "updatedRange": _label(
                sheet,
                start_row,
                start_col,
                start_row + max(height, 1) - 1,
                start_col + max(width, 1) - 1,
            ),
            "updatedRows": height,
            "updatedColumns": width,
            "updatedCells": sum(len(r) for r in rows),
        }
        out: dict[str, Any] = {"spreadsheetId": ss.spreadsheet_id, "updates": updates}
        if used:
            first = min(r for r, _ in used)
            out["tableRange"] = _label(
                sheet, first, start_col, start_row - 1, max(c for _, c in used)
            )
        return out

    def _clear(self, rng: _Range) -> str:
        rng.sheet.cells = {
            (r, c): v
            for (r, c), v in rng.sheet.cells.items()
            if not (rng.r1 <= r <= rng.r2 and rng.c1 <= c <= rng.c2)
        }
        return _label(rng.sheet, rng.r1, rng.c1, rng.r2, rng.c2)

    def _batch_update(self, ss: _Spreadsheet, body: Any) -> dict[str, Any]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise _ApiError(400, "Must specify at least one request.")
        # batchUpdate is all-or-nothing on the real service.
        snapshot = copy.deepcopy(ss.sheets)
        replies = []
        for i, request in enumerate(requests):
            if not isinstance(request, dict) or len(request) != 1:
                raise _ApiError(400, f"Invalid requests[{i}]: exactly one kind must be set.")
            ((kind, arg),) = request.items()
            try:
                replies.append(self._sheet_request(ss, kind, arg if isinstance(arg, dict) else {}))
                if ss.cell_count() > MAX_CELLS:
                    raise _ApiError(400, _CELLS_MSG)
            except _ApiError as err:
                ss.sheets[:] = snapshot
                raise _ApiError(400, f"Invalid requests[{i}].{kind}: {err.message}") from None
        return {"spreadsheetId": ss.spreadsheet_id, "replies": replies}

    def _sheet_request(self, ss: _Spreadsheet, kind: str, arg: dict[str, Any]) -> dict[str, Any]:
        props = arg.get("properties") or {}
        grid = props.get("gridProperties") or {}
        if kind == "addSheet":
            title = props.get("title") or f"Sheet{len(ss.sheets) + 1}"
            if ss.sheet(title) is not None:
                raise _ApiError(
                    400,
                    f'A sheet with the name "{title}" already exists. Please enter another name.',
                )
            sheet = _Sheet(props.get("sheetId", ss.new_sheet_id()), title)
            sheet.resize(int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26)))
            ss.sheets.insert(int(props.get("index", len(ss.sheets))), sheet)
            return {"addSheet": {"properties": sheet.properties(ss.sheets.index(sheet))}}
        if kind == "updateSheetProperties":
            sheet = ss.sheet_by_id(props.get("sheetId"))
            fields = {f.strip() for f in str(arg.get("fields", "")).split(",")}
            every = "*" in fields or "gridProperties" in fields
            new_title = props.get("title")
            if ("*" in fields or "title" in fields) and new_title and new_title != sheet.title:
                if ss.sheet(new_title) is not None:
                    raise _ApiError(400, f'A sheet with the name "{new_title}" already exists.')
                sheet.title = new_title
            rows = grid.get("rowCount") if every or "gridProperties/rowCount" in fields else None
            cols = (
                grid.get("columnCount") if every or "gridProperties/columnCount" in fields else None
            )
            sheet.resize(int(rows or sheet.rows), int(cols or sheet.cols))
            return {}
        if kind == "appendDimension":
            sheet = ss.sheet_by_id(arg.get("sheetId"))
            length = int(arg.get("length", 0))
            if length < 1:
                raise _ApiError(400, "length must be greater than 0")
            if arg.get("dimension") == "COLUMNS":
                sheet.resize(sheet.rows, sheet.cols + length)
            else:
                sheet.resize(sheet.rows + length, sheet.cols)
            return {}
        return {}  # other request kinds (formatting, ...) are accepted and ignored
