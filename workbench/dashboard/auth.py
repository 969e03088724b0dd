"""Who may see and who may act: users with roles from a credentials file with bcrypt hashes.

The dashboard knows two roles: **viewer** (reads everything) and **operator** (may also pause,
resume, force a winner, run a staged rollout, roll back and switch the promotion period). Users and
roles live in a YAML credentials file that never holds a plain-text password::

    # written by `workbench users add NAME --role operator --auth dashboard-users.yaml`
    cookie_secret: 3f1c...          # optional; signs the login cookie (else WORKBENCH_COOKIE_SECRET)
    users:
      kim: {role: operator, password_hash: "$2b$12$..."}
      lee: {role: viewer, password_hash: "$2b$12$..."}
    oauth_roles:                    # with --oauth-provider: role per OAuth user name or e-mail
      ops-lead@example.com: operator

The server resolves a request's role from this file on every check (edits apply without a restart;
a removed user is logged out), never from anything the browser sends. :class:`AccessConfig` says
how the server runs — ``none`` (no login: everyone is a viewer, or the local operator on a loopback
address), ``password`` (this file) or ``oauth`` (Panel's OAuth providers; roles from
``oauth_roles``, everyone else a viewer) — and travels from ``workbench serve`` to the
``panel serve`` process in environment variables.

>>> h = hash_password("correct horse", rounds=4)
>>> creds = Credentials(users={"kim": UserEntry("kim", "operator", h)})
>>> creds.verify("kim", "correct horse"), creds.verify("kim", "wrong"), creds.verify("nobody", "x")
(True, False, False)
>>> AccessConfig(mode="password").identity("kim", creds)
Identity(user='kim', role='operator', mode='password')
>>> AccessConfig(mode="password").identity("stranger", creds).role
'viewer'
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml

from ..errors import InputError, Problem
from ..files import write_text_atomic
from ..yamlio import load_yaml

__all__ = ["Role", "ROLES", "UserEntry", "Credentials", "Identity", "AccessConfig", "LoginThrottle",
           "hash_password", "load_credentials", "credentials_at", "save_credentials", "add_user", "remove_user",
           "new_cookie_secret", "valid_user_name", "ENV_AUTH_FILE", "ENV_AUTH_MODE", "ENV_LOCAL_OPERATOR",
           "ENV_COOKIE_SECRET"]

Role = Literal["viewer", "operator"]
ROLES: tuple[str, ...] = ("viewer", "operator")
Mode = Literal["none", "password", "oauth"]

ENV_AUTH_FILE = "WORKBENCH_AUTH"
ENV_AUTH_MODE = "WORKBENCH_AUTH_MODE"
ENV_LOCAL_OPERATOR = "WORKBENCH_LOCAL_OPERATOR"
ENV_COOKIE_SECRET = "WORKBENCH_COOKIE_SECRET"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
# Checked against when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = "$2b$12$K2RrQv5ZWx0vATG080FnXOpV9YsjWw8/ViDyP/LzYqCx5wUgU2T6m"


def valid_user_name(name: str) -> bool:
    """Letters, digits and ``. _ @ + -`` (e-mail addresses work), 1–128 characters."""
    return bool(_NAME.match(name or ""))


def hash_password(password: str, *, rounds: int | None = None) -> str:
    """A bcrypt hash of ``password`` (cost from ``dashboard.bcrypt_rounds`` unless given)."""
    import bcrypt

    from ..config import get_settings

    if not password:
        raise InputError([Problem("blocked", "empty_password", "the password must not be empty", column="password")])
    data = password.encode("utf-8")
    if len(data) > 72:
        raise InputError([Problem("blocked", "long_password", "bcrypt uses at most 72 bytes of a password; "
                                  "choose a shorter one", column="password", value=len(data))])
    cost = get_settings().dashboard.bcrypt_rounds if rounds is None else int(rounds)
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=cost)).decode("ascii")


def new_cookie_secret() -> str:
    """64 random hex digits for signing login cookies."""
    return secrets.token_hex(32)


@dataclass(frozen=True)
class UserEntry:
    """One user of the credentials file."""

    name: str
    role: str
    password_hash: str | None = None


@dataclass(frozen=True)
class Credentials:
    """Users, their roles and bcrypt hashes; roles of OAuth users; the cookie secret."""

    users: Mapping[str, UserEntry] = field(default_factory=dict)
    oauth_roles: Mapping[str, str] = field(default_factory=dict)
    cookie_secret: str | None = None
    path: Path | None = None

    def role_of(self, user: str | None) -> str | None:
        """The role the file gives ``user`` (a password user or an OAuth name), else ``None``."""
        if not user:
            return None
        if user in self.users:
            return self.users[user].role
        return self.oauth_roles.get(user)

    def verify(self, user: str, password: str) -> bool:
        """True when ``user`` exists with a password hash that ``password`` matches (bcrypt)."""
        import bcrypt

        entry = self.users.get(user)
        hashed = entry.password_hash if entry is not None and entry.password_hash else _DUMMY_HASH
        try:
            ok = bcrypt.checkpw(password.encode("utf-8")[:72], hashed.encode("ascii"))
        except ValueError:
            return False
        return bool(ok and entry is not None and entry.password_hash)


def load_credentials(path: str | Path) -> Credentials:
    """Read and validate a credentials file; every problem names the file and the entry."""
    p = Path(path)
    src = str(p)
    try:
        raw = load_yaml(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise InputError([Problem("blocked", "missing_file", "credentials file not found; create it with "
                                  "`workbench users add NAME --role operator --auth FILE`", file=src)]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError([Problem("blocked", "bad_yaml", f"not valid YAML: {str(exc).splitlines()[0]}", file=src)]) from None
    except OSError as exc:
        raise InputError([Problem("blocked", "unreadable_file", f"cannot read the credentials: {exc.strerror or exc}",
                                  file=src)]) from None
    if not isinstance(raw, dict):
        raise InputError([Problem("blocked", "bad_credentials", "expected a mapping with users:", file=src)])
    problems: list[Problem] = []
    unknown = sorted(set(raw) - {"users", "oauth_roles", "cookie_secret"})
    for key in unknown:
        problems.append(Problem("blocked", "bad_credentials", "unknown key; known: users, oauth_roles, cookie_secret",
                                file=src, column=str(key)))
    for key in ("users", "oauth_roles"):
        if raw.get(key) is not None and not isinstance(raw[key], dict):
            problems.append(Problem("blocked", "bad_credentials", "expected a mapping of user names", file=src,
                                    column=key, value=raw[key]))
    users: dict[str, UserEntry] = {}
    for name, entry in (raw.get("users") if isinstance(raw.get("users"), dict) else {}).items():
        col = f"users.{name}"
        name = str(name)
        if not valid_user_name(name):
            problems.append(Problem("blocked", "bad_user", "user names are letters, digits and . _ @ + -",
                                    file=src, column=col, value=name))
            continue
        if not isinstance(entry, dict):
            problems.append(Problem("blocked", "bad_user", "expected {role: ..., password_hash: ...}", file=src,
                                    column=col))
            continue
        if "password" in entry:
            problems.append(Problem("blocked", "plain_password", "plain-text passwords are refused; store a bcrypt "
                                    "hash (`workbench users add` writes one)", file=src, column=f"{col}.password"))
        role = str(entry.get("role", ""))
        if role not in ROLES:
            problems.append(Problem("blocked", "bad_role", f"role must be one of {', '.join(ROLES)}", file=src,
                                    column=f"{col}.role", value=role))
        hashed = entry.get("password_hash")
        if not isinstance(hashed, str) or not _BCRYPT.match(hashed):
            problems.append(Problem("blocked", "bad_hash", "password_hash must be a bcrypt hash ($2b$...)", file=src,
                                    column=f"{col}.password_hash"))
        users[name] = UserEntry(name, role, hashed if isinstance(hashed, str) else None)
    oauth: dict[str, str] = {}
    for name, role in (raw.get("oauth_roles") if isinstance(raw.get("oauth_roles"), dict) else {}).items():
        if str(role) not in ROLES:
            problems.append(Problem("blocked", "bad_role", f"role must be one of {', '.join(ROLES)}", file=src,
                                    column=f"oauth_roles.{name}", value=str(role)))
        oauth[str(name)] = str(role)
    secret = raw.get("cookie_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 32):
        problems.append(Problem("blocked", "weak_secret", "cookie_secret must be a string of at least 32 characters",
                                file=src, column="cookie_secret"))
    if problems:
        raise InputError(problems)
    return Credentials(users=users, oauth_roles=oauth, cookie_secret=secret, path=p)


_CACHE: dict[Path, tuple[float, int, Credentials]] = {}
_CACHE_LOCK = threading.Lock()


def credentials_at(path: str | Path) -> Credentials:
    """The credentials file, re-read only when it changed (so edits apply without a restart)."""
    p = Path(path).resolve()
    st = p.stat()
    with _CACHE_LOCK:
        hit = _CACHE.get(p)
        if hit is not None and hit[0] == st.st_mtime and hit[1] == st.st_size:
            return hit[2]
    creds = load_credentials(p)
    with _CACHE_LOCK:
        _CACHE[p] = (st.st_mtime, st.st_size, creds)
    return creds


def save_credentials(path: str | Path, creds: Credentials) -> None:
    """Write the file atomically (temporary file + rename), readable by its owner only."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    if creds.cookie_secret:
        data["cookie_secret"] = creds.cookie_secret
    data["users"] = {u.name: {"role": u.role, "password_hash": u.password_hash} for u in creds.users.values()}
    if creds.oauth_roles:
        data["oauth_roles"] = dict(creds.oauth_roles)
    text = ("# Experiment Workbench dashboard users: bcrypt hashes only (`workbench users add`).\n"
            + yaml.safe_dump(data, sort_keys=True))
    write_text_atomic(p, text, mode=0o600)


def add_user(path: str | Path, name: str, password: str, role: str, *, rounds: int | None = None) -> Credentials:
    """Add or replace a user (creating the file, with a fresh cookie secret, when missing)."""
    problems = []
    if not valid_user_name(name):
        problems.append(Problem("blocked", "bad_user", "user names are letters, digits and . _ @ + -",
                                column="name", value=name))
    if role not in ROLES:
        problems.append(Problem("blocked", "bad_role", f"role must be one of {', '.join(ROLES)}", column="role",
                                value=role))
    if problems:
        raise InputError(problems)
    p = Path(path)
    creds = load_credentials(p) if p.exists() else Credentials(cookie_secret=new_cookie_secret(), path=p)
    users = dict(creds.users)
    users[name] = UserEntry(name, role, hash_password(password, rounds=rounds))
    out = Credentials(users=users, oauth_roles=creds.oauth_roles, cookie_secret=creds.cookie_secret, path=p)
    save_credentials(p, out)
    return out


def remove_user(path: str | Path, name: str) -> Credentials:
    """Remove a user; their login stops working at their next request."""
    creds = load_credentials(path)
    if name not in creds.users:
        from ..errors import NotFoundError
        raise NotFoundError(f"{path}: no user {name!r}; users: {', '.join(sorted(creds.users)) or 'none'}")
    users = {k: v for k, v in creds.users.items() if k != name}
    out = Credentials(users=users, oauth_roles=creds.oauth_roles, cookie_secret=creds.cookie_secret, path=Path(path))
    save_credentials(path, out)
    return out


@dataclass(frozen=True)
class Identity:
    """Who is asking (as the server established it) and what they may do."""

    user: str | None
    role: str
    mode: str

    @property
    def can_operate(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class AccessConfig:
    """How the server authenticates: ``none``, ``password`` (credentials file) or ``oauth``.

    ``local_operator`` (only without login) makes the local user an operator; ``workbench serve``
    allows it on a loopback address only.
    """

    mode: str = "none"
    credentials_path: Path | None = None
    local_operator: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "AccessConfig":
        env = os.environ if env is None else env
        path = env.get(ENV_AUTH_FILE) or None
        mode = env.get(ENV_AUTH_MODE) or ("password" if path else "none")
        return cls(mode=mode, credentials_path=Path(path) if path else None,
                   local_operator=env.get(ENV_LOCAL_OPERATOR, "") == "1")

    def to_env(self) -> dict[str, str]:
        out = {ENV_AUTH_MODE: self.mode, ENV_LOCAL_OPERATOR: "1" if self.local_operator else "0"}
        out[ENV_AUTH_FILE] = str(self.credentials_path) if self.credentials_path else ""
        return out

    def credentials(self) -> Credentials:
        return credentials_at(self.credentials_path) if self.credentials_path else Credentials()

    def identity(self, user: str | None, creds: Credentials | None = None) -> Identity:
        """The identity of an authenticated ``user`` name (``None`` when the request has none)."""
        if self.mode == "none":
            return Identity("local", "operator" if self.local_operator else "viewer", "none")
        if not user:
            return Identity(None, "viewer", self.mode)
        c = creds if creds is not None else self.credentials()
        return Identity(user, c.role_of(user) or "viewer", self.mode)


class LoginThrottle:
    """Refuses a user name after ``max_failures`` failed logins within ``window_s`` seconds."""

    def __init__(self, max_failures: int, window_s: float, clock: Any = time.monotonic) -> None:
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        cutoff = self.clock() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key)) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
