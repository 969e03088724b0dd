"""CLI commands of the dashboard area: ``workbench serve`` and ``workbench users add|list|remove``."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError, Problem
from ._common import console, table, engine_options

AUTH = typer.Option(..., "--auth", help="Credentials file (YAML with bcrypt hashes and roles).")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("serve", help="Serve the dashboard (panel serve) and print its URL. Without --auth everyone is a "
                              "viewer (or, with --local-operator on a loopback address, an operator).")(engine_options(serve_cmd))
    users = typer.Typer(help="Dashboard users and roles in a credentials file (bcrypt hashes, never passwords).",
                        no_args_is_help=True)
    users.command("add", help="Add a user or replace their password and role.")(users_add_cmd)
    users.command("list", help="Users and roles in the file.")(users_list_cmd)
    users.command("remove", help="Remove a user (their login stops working at once).")(users_remove_cmd)
    app.add_typer(users, name="users")


def serve_cmd(
    port: Optional[int] = typer.Option(None, "--port", help="Port (default: dashboard.port, 5006)."),
    auth: Optional[Path] = typer.Option(None, "--auth", help="Credentials file: login with roles (viewer, operator)."),
    address: str = typer.Option("127.0.0.1", "--address", help="Interface to listen on (0.0.0.0 for all)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Workbench database (default: WORKBENCH_DB or data/)."),
    reports: Optional[Path] = typer.Option(None, "--reports", help="Generated reports directory (default: reports/)."),
    show: bool = typer.Option(False, "--show", help="Open a browser."),
    local_operator: bool = typer.Option(False, "--local-operator", help="Without --auth: the local user may act "
                                        "(loopback address only)."),
    oauth_provider: Optional[str] = typer.Option(None, "--oauth-provider", help="Panel OAuth provider (github, "
                                                 "google, azure, okta, generic...) instead of --auth."),
    oauth_key: Optional[str] = typer.Option(None, "--oauth-key", envvar="PANEL_OAUTH_KEY", help="OAuth client id."),
    oauth_secret: Optional[str] = typer.Option(None, "--oauth-secret", envvar="PANEL_OAUTH_SECRET",
                                               help="OAuth client secret (prefer the environment variable)."),
    oauth_redirect_uri: Optional[str] = typer.Option(None, "--oauth-redirect-uri", help="OAuth redirect URI."),
    oauth_roles: Optional[Path] = typer.Option(None, "--oauth-roles", help="Credentials file whose oauth_roles give "
                                               "OAuth users their role (everyone else is a viewer)."),
) -> None:
    from ..dashboard.server import OAuthOptions, serve
    oauth = None
    if oauth_provider:
        missing = [n for n, v in (("oauth_key", oauth_key), ("oauth_secret", oauth_secret)) if not v]
        if missing:
            raise InputError([Problem("blocked", "missing_option", "OAuth needs a client id and secret", column=m)
                              for m in missing])
        oauth = OAuthOptions(oauth_provider, str(oauth_key), str(oauth_secret), oauth_redirect_uri)
    serve(port=port, address=address, auth_file=auth, db=db, reports=reports, open_browser=show,
          local_operator=local_operator, oauth=oauth, oauth_roles=oauth_roles, say=console.print)


def _read_password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise InputError([Problem("blocked", "password_mismatch", "the two passwords differ", column="password")])
    return first


def users_add_cmd(name: str = typer.Argument(..., help="User name (letters, digits, . _ @ + -)."),
                  role: str = typer.Option(..., "--role", help="viewer or operator"), auth: Path = AUTH,
                  password_stdin: bool = typer.Option(False, "--password-stdin",
                                                      help="Read the password from standard input (scripts).")) -> None:
    from ..dashboard.auth import add_user
    creds = add_user(auth, name, _read_password(password_stdin), role)
    console.print(f"{name}: {role} in {auth} ({len(creds.users)} users)", highlight=False)


def users_list_cmd(auth: Path = AUTH) -> None:
    from ..dashboard.auth import load_credentials
    creds = load_credentials(auth)
    console.print(table(f"users in {auth}", ["user", "role", "login"],
                        [(u.name, u.role, "password") for u in sorted(creds.users.values(), key=lambda u: u.name)]
                        + [(n, r, "oauth") for n, r in sorted(creds.oauth_roles.items())]))


def users_remove_cmd(name: str = typer.Argument(...), auth: Path = AUTH) -> None:
    from ..dashboard.auth import remove_user
    creds = remove_user(auth, name)
    console.print(f"removed {name} from {auth} ({len(creds.users)} users left)", highlight=False)
