"""Start the dashboard: ``panel serve`` of the packaged entry (:data:`PANEL_APP`) with the workbench's options.

:func:`serve` (and ``workbench serve``) runs Panel's own ``panel serve`` command in this process with

* ``--setup`` ``panel-app/setup.py`` — the data refresh, scheduled once per server;
* ``--plugins workbench.dashboard.api`` — ``/api/actions``, ``/api/status`` and ``/reports/``;
* ``--auth-module workbench/dashboard/auth_hooks.py`` with ``auth_file`` — password login with
  bcrypt hashes and roles from the credentials file; or Panel's ``--oauth-provider`` options for a
  company identity provider (roles from the file's ``oauth_roles``);
* a cookie secret (from the credentials file, else ``WORKBENCH_COOKIE_SECRET``, else a fresh random
  one, which logs everybody out at the next restart) and signed Bokeh sessions derived from it;
* websocket origins limited to the address served.

Bokeh and Panel serve their JavaScript, CSS and icon fonts from the server itself (no CDN), and the
pages use system fonts, so the dashboard works in an air-gapped network. Paths and the access mode
reach the server process in environment variables (``WORKBENCH_DB``, ``WORKBENCH_REPORTS``,
``WORKBENCH_AUTH``...).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..config import Paths, get_settings
from ..db import database_path
from ..display import fmt_elapsed
from ..errors import InputError, Problem, WorkbenchError
from .auth import ENV_COOKIE_SECRET, AccessConfig, load_credentials

__all__ = ["OAuthOptions", "ServeCommand", "panel_command", "serve", "check_listen", "dashboard_url", "serving", "free_port",
           "dashboard_status", "PANEL_APP"]

PANEL_APP = Path(__file__).resolve().parent / "panel-app"
"""The ``panel serve`` entry (``app.py``) and its ``--setup`` script, shipped inside the package as data."""


@dataclass(frozen=True)
class OAuthOptions:
    """Panel's OAuth login (``github``, ``google``, ``azure``, ``okta``, ``generic``...); see ``panel serve --help``."""

    provider: str
    key: str
    secret: str
    redirect_uri: str | None = None
    extra_params: str | None = None


@dataclass(frozen=True)
class ServeCommand:
    """The ``panel serve`` argument list and the environment it needs."""

    args: tuple[str, ...]
    env: dict[str, str]
    url: str
    notes: tuple[str, ...] = ()


def _loopback(address: str) -> bool:
    if address in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def dashboard_url(address: str, port: int) -> str:
    """The URL to print: ``localhost`` for loopback or all-interface addresses.

    >>> dashboard_url("0.0.0.0", 5006), dashboard_url("10.0.0.5", 8080)
    ('http://localhost:5006/app', 'http://10.0.0.5:8080/app')
    """
    host = "localhost" if address in ("", "0.0.0.0", "::", "127.0.0.1", "localhost") else address
    return f"http://{host}:{port}/app"


def panel_command(*, port: int | None = None, address: str = "127.0.0.1", auth_file: str | Path | None = None,
                  db: str | Path | None = None, reports: str | Path | None = None, open_browser: bool = False,
                  local_operator: bool = False, oauth: OAuthOptions | None = None,
                  oauth_roles: str | Path | None = None) -> ServeCommand:
    """Build the command and environment without starting anything (checked by the tests)."""
    port = get_settings().dashboard.port if port is None else int(port)
    app, setup = PANEL_APP / "app.py", PANEL_APP / "setup.py"
    if not app.is_file():
        raise WorkbenchError(f"{app}: the dashboard entry is missing from the installed package; reinstall it")
    problems = []
    if auth_file is not None and oauth is not None:
        problems.append(Problem("blocked", "bad_option", "use either --auth (password login) or --oauth-provider, "
                                "not both; with OAuth the --oauth-roles file gives the roles", column="auth"))
    if oauth_roles is not None and oauth is None:
        problems.append(Problem("blocked", "bad_option", "--oauth-roles goes with --oauth-provider",
                                column="oauth_roles"))
    if local_operator and (auth_file is not None or oauth is not None):
        problems.append(Problem("blocked", "bad_option", "--local-operator is for a dashboard without login",
                                column="local_operator"))
    if local_operator and not _loopback(address):
        problems.append(Problem("blocked", "bad_option", "--local-operator makes everyone who can reach the server "
                                "an operator; it is allowed on a loopback address only", column="address",
                                value=address))
    if problems:
        raise InputError(problems)
    notes: list[str] = []
    secret = None
    if auth_file is not None:
        creds = load_credentials(auth_file)
        if not creds.users:
            raise InputError([Problem("blocked", "no_users", "the credentials file has no users; add one with "
                                      "`workbench users add NAME --role operator --auth FILE`", file=str(auth_file))])
        secret = creds.cookie_secret
    secret = secret or os.environ.get(ENV_COOKIE_SECRET)
    if not secret:
        from .auth import new_cookie_secret
        secret = new_cookie_secret()
        if auth_file is not None or oauth is not None:
            notes.append("no cookie_secret in the credentials file or WORKBENCH_COOKIE_SECRET: using a random one, so "
                         "logins end when the server restarts")
    if oauth_roles is not None:
        load_credentials(oauth_roles)
    roles_file = auth_file if auth_file is not None else oauth_roles
    access = AccessConfig(mode="password" if auth_file is not None else "oauth" if oauth is not None else "none",
                          credentials_path=Path(roles_file).resolve() if roles_file is not None else None,
                          local_operator=local_operator)
    env = {
        "WORKBENCH_DB": str(database_path(db).resolve()),
        "WORKBENCH_REPORTS": str(Path(reports).resolve() if reports is not None else Paths.default().reports),
        **access.to_env(),
        "PANEL_COOKIE_SECRET": secret, "BOKEH_COOKIE_SECRET": secret,
        "BOKEH_SECRET_KEY": hashlib.sha256(f"workbench-bokeh-session:{secret}".encode()).hexdigest(),
        "BOKEH_SIGN_SESSIONS": "true",
        "BOKEH_RESOURCES": "server",      # JS and CSS from this server, whatever the user's environment says
        "PANEL_INLINE": "false",
    }
    origins = {f"localhost:{port}", f"127.0.0.1:{port}"}
    if address not in ("", "0.0.0.0", "::"):
        origins.add(f"{address}:{port}")
    args = ["panel", "serve", str(app), "--port", str(port), "--address", address, "--setup", str(setup),
            "--plugins", "workbench.dashboard.api", "--index", "app", "--session-ids", "signed",
            "--num-procs", "1", "--check-unused-sessions", "5000", "--unused-session-lifetime", "30000"]
    for o in sorted(origins):
        args += ["--allow-websocket-origin", o]
    if auth_file is not None:
        args += ["--auth-module", str(Path(__file__).with_name("auth_hooks.py"))]
    if oauth is not None:
        args += ["--oauth-provider", oauth.provider]
        env["PANEL_OAUTH_KEY"], env["PANEL_OAUTH_SECRET"] = oauth.key, oauth.secret
        if oauth.redirect_uri:
            args += ["--oauth-redirect-uri", oauth.redirect_uri]
        if oauth.extra_params:
            args += ["--oauth-extra-params", oauth.extra_params]
    if open_browser:
        args.append("--show")
    return ServeCommand(tuple(args), env, dashboard_url(address, port), tuple(notes))


def serve(*, port: int | None = None, address: str = "127.0.0.1", auth_file: str | Path | None = None,
          db: str | Path | None = None, reports: str | Path | None = None, open_browser: bool = False,
          local_operator: bool = False, oauth: OAuthOptions | None = None, oauth_roles: str | Path | None = None,
          say: Callable[[str], None] = print) -> None:
    """Serve the dashboard until interrupted (blocks); prints the URL first.

    ``oauth_roles`` names a credentials file whose ``oauth_roles`` map OAuth users to roles (others
    are viewers). The call never returns normally: ``panel serve`` runs until Ctrl-C.
    """
    cmd = panel_command(port=port, address=address, auth_file=auth_file, db=db, reports=reports,
                        open_browser=open_browser, local_operator=local_operator, oauth=oauth,
                        oauth_roles=oauth_roles)
    check_listen(port, address)      # after the options: a wrong option is refused whatever listens on the port
    if not Path(cmd.env["WORKBENCH_DB"]).exists():
        say(f"note: {cmd.env['WORKBENCH_DB']} does not exist yet; run `workbench simulate` (or `make demo`)")
    for n in cmd.notes:
        say(f"note: {n}")
    mode = cmd.env["WORKBENCH_AUTH_MODE"]
    who = {"password": f"login required (users in {cmd.env['WORKBENCH_AUTH']})",
           "oauth": f"OAuth login ({oauth.provider if oauth else ''})",
           "none": "no login: everyone is " + ("an operator (local)" if local_operator else "a viewer")}[mode]
    say(f"dashboard: {cmd.url}  ({who}; Ctrl-C to stop)")
    os.environ.update(cmd.env)
    from .. import config
    config.get_settings.cache_clear()
    from panel.command import main as panel_main
    sys.argv = list(cmd.args)
    panel_main()


def check_listen(port: int | None, address: str) -> None:
    """Refuse, in one line and before the server starts, a port out of range, a port another program
    listens on, or an address this machine does not have (``panel serve`` would exit 1 with "ERROR:")."""
    import errno
    import socket

    p = get_settings().dashboard.port if port is None else port
    if not 1 <= p <= 65535:
        raise InputError([Problem("blocked", "bad_port", "a port is a number from 1 to 65535", column="port", value=p)])
    try:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)        # as the server binds: TIME_WAIT is no conflict
            s.bind((address, p))
    except OSError as exc:
        why = (f"port {p} on {address} is already in use (another dashboard?); choose another with --port"
               if exc.errno == errno.EADDRINUSE else f"cannot listen on {address}:{p}: {exc.strerror or exc}")
        raise InputError([Problem("blocked", "cannot_listen", why, column="address" if exc.errno != errno.EADDRINUSE
                                  else "port", value=address if exc.errno != errno.EADDRINUSE else p)]) from None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dashboard_status(base: str) -> dict[str, Any] | None:
    """The served dashboard's ``/api/status`` (None while it does not answer)."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base}/api/status", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


@contextmanager
def serving(auth_file: str | Path, *, db: str | Path, reports: str | Path, log: str | Path,
            env: Mapping[str, str] | None = None, timeout: float = 120.0, steady: bool = False,
            wait: bool = True) -> Iterator[str]:
    """Run ``workbench serve`` in a child process for the ``with`` block; yields its base URL.

    Returns once ``/api/status`` says the data are ready (``steady``: current, and the caches warm too;
    ``wait=False``: at once, for a benchmark that times the start itself);
    raises ``RuntimeError`` with the server's output (written to ``log``) if it exits or is not
    ready within ``timeout`` seconds. The process is stopped when the block ends. For browser tests
    and benchmarks that need a real server.
    """
    import subprocess
    import time

    from ..processes import die_with_parent

    port = free_port()
    base = f"http://localhost:{port}"
    log_path = Path(log)
    with open(log_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), "--auth",
                                 str(auth_file), "--db", str(db), "--reports", str(reports)], stdout=out,
                                stderr=subprocess.STDOUT, env=dict(os.environ if env is None else env),
                                start_new_session=True, preexec_fn=die_with_parent)   # even on kill -9
        try:
            deadline = time.monotonic() + timeout
            while wait:
                if proc.poll() is not None:
                    raise RuntimeError(f"workbench serve exited with {proc.returncode}:\n{log_path.read_text()}")
                status = dashboard_status(base)
                busy = status and (status["warming"] or status.get("previous") or status.get("analysing"))
                if status and status["ready"] and not status.get("loading") and not (steady and busy):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the dashboard was not ready after {fmt_elapsed(timeout)}:\n{log_path.read_text()}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
