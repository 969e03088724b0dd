"""``workbench serve`` builds the right ``panel serve`` command; ``workbench users`` manages the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import invoke
from cli_runner import run_workbench as _cli

from workbench.config import get_settings
from workbench.dashboard.auth import add_user, load_credentials
from workbench.dashboard.server import PANEL_APP, OAuthOptions, panel_command
from workbench.errors import InputError


def _opt(args: tuple[str, ...], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_password_login_command(tmp_path):
    users = tmp_path / "users.yaml"
    creds = add_user(users, "ops", "pw", "operator", rounds=4)
    cmd = panel_command(port=5123, auth_file=users, db=tmp_path / "wb.duckdb", reports=tmp_path / "reports")
    a = cmd.args
    assert a[:3] == ("panel", "serve", str(PANEL_APP / "app.py"))
    assert _opt(a, "--port") == ["5123"] and _opt(a, "--address") == ["127.0.0.1"]
    assert _opt(a, "--setup") == [str(PANEL_APP / "setup.py")]
    assert _opt(a, "--plugins") == ["workbench.dashboard.api"]
    assert _opt(a, "--session-ids") == ["signed"]
    hooks = Path(_opt(a, "--auth-module")[0])
    assert hooks.name == "auth_hooks.py" and hooks.is_file()
    assert set(_opt(a, "--allow-websocket-origin")) == {"localhost:5123", "127.0.0.1:5123"}
    env = cmd.env
    assert env["WORKBENCH_AUTH_MODE"] == "password" and env["WORKBENCH_AUTH"] == str(users.resolve())
    assert env["PANEL_COOKIE_SECRET"] == env["BOKEH_COOKIE_SECRET"] == creds.cookie_secret
    assert len(env["BOKEH_SECRET_KEY"]) == 64 and env["BOKEH_SECRET_KEY"] != creds.cookie_secret
    assert env["WORKBENCH_DB"] == str((tmp_path / "wb.duckdb").resolve())
    assert env["WORKBENCH_REPORTS"] == str((tmp_path / "reports").resolve())
    assert creds.cookie_secret not in " ".join(a)                         # secrets never on the command line
    assert env["BOKEH_RESOURCES"] == "server" and env["PANEL_INLINE"] == "false"   # no CDN, whatever the shell says
    assert cmd.url == "http://localhost:5123/app" and not cmd.notes


def test_without_login_everyone_is_a_viewer_unless_local_operator(tmp_path):
    cmd = panel_command(port=5124, db=tmp_path / "wb.duckdb")
    assert cmd.env["WORKBENCH_AUTH_MODE"] == "none" and cmd.env["WORKBENCH_LOCAL_OPERATOR"] == "0"
    assert "--auth-module" not in cmd.args and len(cmd.env["PANEL_COOKIE_SECRET"]) == 64
    local = panel_command(port=5124, db=tmp_path / "wb.duckdb", local_operator=True)
    assert local.env["WORKBENCH_LOCAL_OPERATOR"] == "1"
    with pytest.raises(InputError, match="loopback address only"):
        panel_command(port=5124, address="0.0.0.0", local_operator=True)


def test_oauth_secrets_travel_in_the_environment(tmp_path):
    roles = tmp_path / "roles.yaml"
    roles.write_text("users: {}\noauth_roles: {lead@example.com: operator}\n")
    cmd = panel_command(port=5125, oauth=OAuthOptions("github", "client-id", "client-secret", "https://x/app"),
                        oauth_roles=roles)
    assert _opt(cmd.args, "--oauth-provider") == ["github"] and _opt(cmd.args, "--oauth-redirect-uri") == ["https://x/app"]
    assert "client-secret" not in cmd.args and cmd.env["PANEL_OAUTH_SECRET"] == "client-secret"
    assert cmd.env["WORKBENCH_AUTH_MODE"] == "oauth" and cmd.env["WORKBENCH_AUTH"] == str(roles.resolve())
    assert any("random" in n for n in cmd.notes)                          # no cookie secret given: say so


def test_conflicting_or_empty_options_are_refused(tmp_path):
    users = tmp_path / "users.yaml"
    add_user(users, "ops", "pw", "operator", rounds=4)
    with pytest.raises(InputError, match="either --auth"):
        panel_command(auth_file=users, oauth=OAuthOptions("github", "k", "s"))
    with pytest.raises(InputError, match="for a dashboard without login"):
        panel_command(auth_file=users, local_operator=True)
    empty = tmp_path / "empty.yaml"
    empty.write_text("users: {}\n")
    with pytest.raises(InputError, match="has no users"):
        panel_command(auth_file=empty)


def test_users_cli_adds_lists_and_removes(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "workbench.yaml"
    cfg.write_text("dashboard: {bcrypt_rounds: 5}\n")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(cfg))
    get_settings.cache_clear()
    users = tmp_path / "users.yaml"
    code, out, err = invoke(capsys, monkeypatch, "users", "add", "ops", "--role", "operator", "--auth", str(users),
                               "--password-stdin", stdin="pw-1\n")
    assert code == 0, err
    creds = load_credentials(users)
    assert creds.verify("ops", "pw-1") and creds.users["ops"].password_hash.startswith("$2b$05$")   # cost from settings
    code, _, err = invoke(capsys, monkeypatch, "users", "add", "lee", "--role", "admin", "--auth", str(users),
                             "--password-stdin", stdin="x\n")
    assert code == 2 and "role must be one of viewer, operator" in err and "Traceback" not in err
    code, out, _ = invoke(capsys, monkeypatch, "users", "list", "--auth", str(users))
    assert code == 0 and "ops" in out and "operator" in out
    code, _, _ = invoke(capsys, monkeypatch, "users", "remove", "ops", "--auth", str(users))
    assert code == 0 and load_credentials(users).users == {}
    code, _, err = invoke(capsys, monkeypatch, "users", "remove", "ops", "--auth", str(users))
    assert code == 2 and "no user 'ops'" in err


def test_serve_cli_refuses_an_unsafe_local_operator(tmp_path):
    r = _cli("serve", "--local-operator", "--address", "0.0.0.0", "--db", str(tmp_path / "x.duckdb"))
    assert r.returncode == 2 and "loopback address only" in r.stderr and "Traceback" not in r.stderr
