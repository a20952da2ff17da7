"""Where the database is, found the same way by every command.

Order: FINSAM_DATABASE_URL; else the nearest `finsam.toml` in the current
folder or a parent (its `[database] url`, relative SQLite paths resolved from
that file's folder, so the repository's own file points at the demo); else a
SQLite file in the user's data folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.core import toml_input
from workflow.core.exceptions import ConfigError
from workflow.core.files import MAX_FORBUND_FILE, read_text

PROJECT_FILE = "finsam.toml"


@dataclass(frozen=True)
class DatabaseLocation:
    url: str
    source: str  # what decided it, for messages


def find_project_file(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "finsam"


def database_location(start: Path | None = None) -> DatabaseLocation:
    url = os.environ.get("FINSAM_DATABASE_URL")
    if url:
        return DatabaseLocation(normalise_url(url), "FINSAM_DATABASE_URL")
    project = find_project_file(start)
    if project is not None:
        text = read_text(project, "the project file finsam.toml", MAX_FORBUND_FILE)
        data = toml_input.loads(text, str(project), ConfigError)
        database = data.get("database", {})
        url = database.get("url") if isinstance(database, dict) else None
        if not isinstance(url, str) or not url:
            raise ConfigError(
                f"{project}: database.url is missing",
                'write e.g. [database] url = "sqlite:///finsam.db"',
            )
        return DatabaseLocation(normalise_url(url, relative_to=project.parent), str(project))
    path = _default_data_dir() / "finsam.db"
    return DatabaseLocation(f"sqlite:///{path}", "default data folder")


def normalise_url(url: str, relative_to: Path | None = None) -> str:
    """Absolute SQLite paths, and the psycopg driver for plain postgresql:// URLs."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url.removeprefix("sqlite:///")
        if rel and rel != ":memory:":
            base = relative_to or Path.cwd()
            return f"sqlite:///{(base / rel).resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///"))
    return None


# FINSAM_MAX_UPLOAD_MB: the largest report file `reports submit` takes, in MB (2**20 bytes)
DEFAULT_MAX_UPLOAD_MB = 25
_MAX_UPLOAD_CEILING_MB = 4096  # a sanity bound on the setting itself, not a promise


def max_upload_bytes() -> int:
    """FINSAM_MAX_UPLOAD_MB in bytes: a report bigger than this is refused while it is read,
    so a wrong file (a disk image, /dev/zero's kin) never fills the store."""
    text = os.environ.get("FINSAM_MAX_UPLOAD_MB", "").strip()
    if not text:
        return DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= _MAX_UPLOAD_CEILING_MB:
        raise ConfigError(
            f"FINSAM_MAX_UPLOAD_MB={text!r} is not a size in MB between 0 and "
            f"{_MAX_UPLOAD_CEILING_MB}",
            f"leave it unset for {DEFAULT_MAX_UPLOAD_MB} MB, or give e.g. FINSAM_MAX_UPLOAD_MB=50",
        )
    return int(value * 1024 * 1024)


# FINSAM_BASE_URL: where people reach `finsam web`, for the links finsam mails them
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _web_address(text: str) -> Any:
    """`text` split as a URL when it is a plain web address (a scheme, a host, an optional
    port and path; no user, query, fragment, blank or control character), else None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return None
    if (
        not ok
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username is not None
        or any(c.isspace() or not c.isprintable() for c in text)
    ):
        return None
    return parts


def base_url() -> str:
    """FINSAM_BASE_URL without a trailing slash: http(s), a host, an optional port and
    path, nothing else (a query or fragment would break every link built on it)."""
    text = os.environ.get("FINSAM_BASE_URL", "").strip()
    if not text:
        return DEFAULT_BASE_URL
    parts = _web_address(text)
    if parts is None or parts.scheme not in ("http", "https"):
        raise ConfigError(
            f"FINSAM_BASE_URL={text!r} is not a web address finsam can build links on",
            f"give http(s)://host[:port][/path], e.g. https://finsam.example.se; "
            f"unset it for {DEFAULT_BASE_URL}",
        )
    return text.rstrip("/")


# FINSAM_OIDC_*: an OpenID Connect provider (an e-legitimation broker) to sign in with
OIDC_REQUIRED = ("FINSAM_OIDC_ISSUER", "FINSAM_OIDC_CLIENT_ID", "FINSAM_OIDC_CLIENT_SECRET")
OIDC_DEFAULT_NAME = "e-legitimation"
_OIDC_NAME_MAX = 60  # a button's label
_OIDC_VALUE_MAX = 500
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class OidcSettings:
    issuer: str  # as configured, without a trailing slash
    client_id: str
    client_secret: str
    name: str = OIDC_DEFAULT_NAME  # the sign-in button says "Logga in med <name>"

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"OidcSettings(issuer={self.issuer!r}, client_id={self.client_id!r})"


def oidc() -> OidcSettings | None:
    """The OpenID Connect provider, or None when none is configured. All three of
    OIDC_REQUIRED or none: half a configuration is a mistake named at start, not a
    sign-in button that fails. The issuer is https (http only on this machine's
    loopback, for a provider started by a test or a developer)."""
    given = {name: os.environ.get(name, "").strip() for name in OIDC_REQUIRED}
    label = os.environ.get("FINSAM_OIDC_NAME", "").strip()
    if not any(given.values()):
        if label:
            raise ConfigError(
                "FINSAM_OIDC_NAME is set but no OpenID Connect provider is configured",
                f"set {', '.join(OIDC_REQUIRED)} as well, or unset FINSAM_OIDC_NAME",
            )
        return None
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set: an OpenID Connect provider needs all of "
            f"{', '.join(OIDC_REQUIRED)}",
            "set the missing ones (from the provider's registration of finsam), or unset all "
            "to sign in by e-mail link only",
        )
    issuer = _oidc_issuer(given["FINSAM_OIDC_ISSUER"])
    for name in OIDC_REQUIRED[1:]:
        value = given[name]
        if len(value) > _OIDC_VALUE_MAX or any(c.isspace() or not c.isprintable() for c in value):
            raise ConfigError(
                f"{name} is not a client credential: it has spaces or control characters, "
                f"or is longer than {_OIDC_VALUE_MAX} characters",
                "copy it exactly as the provider gave it",
            )
    if len(label) > _OIDC_NAME_MAX or any(not c.isprintable() for c in label):
        raise ConfigError(
            f"FINSAM_OIDC_NAME={label!r} is not a short one-line label",
            f"give at most {_OIDC_NAME_MAX} characters, e.g. FINSAM_OIDC_NAME='BankID'",
        )
    return OidcSettings(
        issuer=issuer,
        client_id=given["FINSAM_OIDC_CLIENT_ID"],
        client_secret=given["FINSAM_OIDC_CLIENT_SECRET"],
        name=label or OIDC_DEFAULT_NAME,
    )


def _oidc_issuer(text: str) -> str:
    parts = _web_address(text)
    local = parts is not None and parts.scheme == "http" and parts.hostname in _LOOPBACK
    if parts is None or not (parts.scheme == "https" or local):
        raise ConfigError(
            f"FINSAM_OIDC_ISSUER={text!r} is not an OpenID Connect issuer",
            "give the provider's https:// issuer, whose /.well-known/openid-configuration "
            "describes it (http:// only for 127.0.0.1 or localhost)",
        )
    return text.rstrip("/")


def from_env(cls: type[Any], prefix: str) -> Any:
    """Settings read from the environment; a bad value is named, with what would do."""
    from pydantic import ValidationError

    try:
        return cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule between settings, not one value
            raise ConfigError(
                str(first["msg"]).removeprefix("Value error, "),
                "see docs/operations.md (The environment) for what each setting takes",
            ) from None
        name = prefix + str(first["loc"][0]).upper()
        raise ConfigError(
            f"{name}={os.environ.get(name, '')!r}: {first['msg'].lower()}",
            "see docs/operations.md (The environment) for what each setting takes",
        ) from None


def shown_url(url: str) -> str:
    """The URL without its password, fit for a terminal or a log: as written, with
    whatever stands between `user:` and the host's `@` masked (also in a URL that
    does not parse, and a password with an unescaped @ in it)."""
    return mask_secrets(url)


# user:password@ in a URL, and password=... in a libpq connection string
_SECRETS = (
    (re.compile(r"(//[^/@\s:]*:)[^/\s]*@"), r"\1***@"),
    (re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE), r"\1***"),
)


def mask_secrets(text: str) -> str:
    """`text` with passwords of URLs or connection strings in it replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text
