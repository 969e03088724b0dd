"""Credentials file, bcrypt hashing, role resolution, login throttling and safe redirects."""

from __future__ import annotations

import os
import stat

import bcrypt
import pytest
import yaml

from workbench.dashboard.auth import (AccessConfig, Credentials, LoginThrottle, UserEntry, add_user, credentials_at,
                                      hash_password, load_credentials, remove_user)
from workbench.dashboard.login import safe_next
from workbench.errors import InputError, NotFoundError


def test_hash_is_bcrypt_and_verifies_against_the_bcrypt_library():
    h = hash_password("s3cret pass", rounds=4)
    assert h.startswith("$2b$04$")
    assert bcrypt.checkpw(b"s3cret pass", h.encode())          # independent check with the library itself
    creds = Credentials(users={"kim": UserEntry("kim", "operator", h)})
    assert creds.verify("kim", "s3cret pass")
    assert not creds.verify("kim", "s3cret pass ")
    assert not creds.verify("KIM", "s3cret pass")              # names are exact
    assert not creds.verify("nobody", "s3cret pass")


def test_hash_refuses_empty_and_overlong_passwords():
    with pytest.raises(InputError, match="must not be empty"):
        hash_password("", rounds=4)
    with pytest.raises(InputError, match="72 bytes"):
        hash_password("é" * 40, rounds=4)                        # 80 bytes in UTF-8


def test_add_list_remove_users_writes_hashes_only_and_owner_only(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "ops", "operator-pass", "operator", rounds=4)
    creds = add_user(path, "lee", "viewer-pass", "viewer", rounds=4)
    text = path.read_text()
    assert "operator-pass" not in text and "viewer-pass" not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(creds.users) == ["lee", "ops"]
    loaded = load_credentials(path)
    assert loaded.role_of("ops") == "operator" and loaded.role_of("lee") == "viewer"
    assert loaded.verify("ops", "operator-pass")
    assert len(loaded.cookie_secret) == 64
    add_user(path, "lee", "new-pass", "operator", rounds=4)        # replace password and role
    again = load_credentials(path)
    assert again.role_of("lee") == "operator" and again.verify("lee", "new-pass") and not again.verify("lee", "viewer-pass")
    assert again.cookie_secret == loaded.cookie_secret             # the secret survives edits
    remove_user(path, "lee")
    assert sorted(load_credentials(path).users) == ["ops"]
    with pytest.raises(NotFoundError, match="no user 'lee'"):
        remove_user(path, "lee")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.yaml"]   # no temporary files left


def test_bad_credentials_files_name_the_file_and_the_entry(tmp_path):
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump({"users": {"kim": {"role": "admin", "password": "plain"},
                                              "bad name!": {"role": "viewer", "password_hash": "x"}},
                                    "colour": "blue", "cookie_secret": "short"}))
    with pytest.raises(InputError) as err:
        load_credentials(path)
    problems = {(p.code, p.column) for p in err.value.problems}
    assert ("plain_password", "users.kim.password") in problems
    assert ("bad_role", "users.kim.role") in problems
    assert ("bad_hash", "users.kim.password_hash") in problems
    assert ("bad_user", "users.bad name!") in problems
    assert ("bad_credentials", "colour") in problems
    assert ("weak_secret", "cookie_secret") in problems
    assert all(p.file == str(path) for p in err.value.problems)
    with pytest.raises(InputError, match="credentials file not found"):
        load_credentials(tmp_path / "missing.yaml")


def test_add_user_validates_name_and_role(tmp_path):
    with pytest.raises(InputError) as err:
        add_user(tmp_path / "u.yaml", "no spaces", "pw", "admin", rounds=4)
    assert {p.code for p in err.value.problems} == {"bad_user", "bad_role"}
    assert not (tmp_path / "u.yaml").exists()


def test_credentials_at_rereads_the_file_when_it_changes(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "ops", "pw", "operator", rounds=4)
    assert credentials_at(path).role_of("ops") == "operator"
    assert credentials_at(path) is credentials_at(path)             # cached while unchanged
    add_user(path, "lee", "pw2", "viewer", rounds=4)
    assert credentials_at(path).role_of("lee") == "viewer"


def test_identity_comes_from_the_file_and_defaults_to_viewer(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "ops", "pw", "operator", rounds=4)
    creds = load_credentials(path)
    creds = Credentials(creds.users, {"lead@example.com": "operator"}, creds.cookie_secret, path)
    pw = AccessConfig(mode="password", credentials_path=path)
    assert pw.identity("ops", creds).can_operate
    assert pw.identity("removed-user", creds).role == "viewer"
    assert pw.identity(None, creds).role == "viewer"
    oauth = AccessConfig(mode="oauth", credentials_path=path)
    assert oauth.identity("lead@example.com", creds).role == "operator"
    assert oauth.identity("someone@example.com", creds).role == "viewer"
    assert AccessConfig(mode="none").identity(None).role == "viewer"
    assert AccessConfig(mode="none", local_operator=True).identity(None).role == "operator"


def test_access_config_round_trips_through_the_environment(tmp_path):
    cfg = AccessConfig(mode="password", credentials_path=tmp_path / "u.yaml", local_operator=False)
    assert AccessConfig.from_env(cfg.to_env()) == cfg
    assert AccessConfig.from_env({}) == AccessConfig(mode="none")
    assert AccessConfig.from_env({"WORKBENCH_AUTH": str(tmp_path / "u.yaml")}).mode == "password"


def test_login_throttle_blocks_after_repeated_failures_then_forgets():
    now = [0.0]
    t = LoginThrottle(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        assert not t.blocked("kim")
        t.failed("kim")
    assert t.blocked("kim") and not t.blocked("lee")
    now[0] = 61.0
    assert not t.blocked("kim")
    t.failed("kim")
    t.succeeded("kim")
    assert not t.blocked("kim")


@pytest.mark.parametrize("target, expected", [
    ("/app?page=experiment", "/app?page=experiment"), (None, "/app"), ("https://evil.example/", "/app"),
    ("//evil.example/x", "/app"), ("javascript:alert(1)", "/app"), ("app", "/app")])
def test_safe_next_only_follows_local_paths(target, expected):
    assert safe_next(target) == expected
