"""Building the authorized gspread client: ``client=``, or a service-account key given as
``credentials_json=``, ``credentials_path=`` or ``GOOGLE_CREDENTIALS_PATH``.

gspread and google-auth are imported here, inside functions, so that ``hilt_sheets``
imports (and the registry lists it) without the ``sheets`` extra installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hilt_core import ConfigError
from hilt_core.paths import user_path

if TYPE_CHECKING:
    import gspread

SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
INSTALL_HINT = 'pip install "hilt[sheets]"'


def import_gspread() -> ModuleType:
    try:
        import google.oauth2.service_account  # noqa: F401
        import gspread
    except ImportError as exc:
        raise ConfigError(
            f"HILT's Google Sheets backend needs gspread and google-auth ({exc}). "
            f"Install them with: {INSTALL_HINT}"
        ) from exc
    return gspread


def _read_key_file(raw: str, origin: str) -> dict[str, Any]:
    path = user_path(raw)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"HILT cannot read the Google credentials file {str(path)!r} ({origin}): "
            f"{exc.strerror or exc}. Point it at the service-account JSON key you downloaded "
            "from the Google Cloud console (IAM > Service accounts > Keys)."
        ) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"The Google credentials file {str(path)!r} ({origin}) is not JSON ({exc}); "
            "it should be the service-account key file as downloaded."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"The Google credentials file {str(path)!r} holds no JSON object")
    return data


def credentials_info(options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The service-account key as a dict, and where it came from (for messages)."""
    given = options.get("credentials_json")
    if given is not None:
        if isinstance(given, (str, bytes)):
            try:
                given = json.loads(given)
            except ValueError as exc:
                raise ConfigError(f"credentials_json is not valid JSON ({exc})") from exc
        if not isinstance(given, Mapping):
            raise ConfigError("credentials_json must be the service-account key as a dict")
        return dict(given), "credentials_json"
    path = options.get("credentials_path")
    if path:
        return _read_key_file(str(path), "credentials_path"), f"credentials_path={path!r}"
    env = os.environ.get("GOOGLE_CREDENTIALS_PATH")
    if env:
        return _read_key_file(env, "GOOGLE_CREDENTIALS_PATH"), f"GOOGLE_CREDENTIALS_PATH={env!r}"
    raise ConfigError(
        "backend='sheets' needs credentials: pass credentials_path= (a service-account JSON "
        "key file), credentials_json= (the key as a dict), or client= (an authorized "
        "gspread.Client), or set GOOGLE_CREDENTIALS_PATH. See docs/google_sheets_setup.md."
    )


def _service_account(info: dict[str, Any], origin: str) -> Any:
    kind = info.get("type")
    if kind == "authorized_user":
        raise ConfigError(
            f"The Google credentials in {origin} are OAuth user credentials; HILT's "
            "credentials options take a service-account key. To log as a user, build an "
            "authorized client (gspread.oauth(...)) and pass it as client=."
        )
    if kind != "service_account":
        raise ConfigError(
            f"The Google credentials in {origin} are not a service-account key (type "
            f"{kind!r}, expected 'service_account')."
        )
    from google.oauth2 import service_account

    try:
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=[SHEETS_SCOPE]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"The service-account key in {origin} cannot be used ({type(exc).__name__}: "
            f"{exc}). Download a new JSON key for the service account."
        ) from exc


def client_email(client: Any) -> str | None:
    """The service account a client acts as, when it is one."""
    auth = getattr(getattr(client, "http_client", None), "auth", None)
    email = getattr(auth, "service_account_email", None)
    return email if isinstance(email, str) and "@" in email else None


def build_client(options: Mapping[str, Any], http_timeout: float) -> tuple[gspread.Client, str]:
    """An authorized client and a description of who it acts as (for messages)."""
    gspread = import_gspread()
    client = options.get("client")
    if client is not None:
        if not isinstance(client, gspread.Client):
            raise ConfigError(
                f"client= must be an authorized gspread.Client, not {type(client).__name__}"
            )
        # A timeout keeps a hung connection from stalling the upload thread; the user's own
        # choice of timeout stands.
        if getattr(client.http_client, "timeout", None) is None:
            client.set_timeout(http_timeout)
        email = client_email(client)
        return client, email or "the account your client= is authorized as"
    info, origin = credentials_info(options)
    creds = _service_account(info, origin)
    http_client = options.get("http_client")
    if http_client is not None and not (
        isinstance(http_client, type) and issubclass(http_client, gspread.HTTPClient)
    ):
        raise ConfigError("http_client= must be a subclass of gspread.HTTPClient")
    made = gspread.Client(creds, http_client=http_client or gspread.HTTPClient)
    made.set_timeout(http_timeout)
    return made, str(info.get("client_email") or "the service account")
