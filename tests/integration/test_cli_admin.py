"""``jointwatch admin`` and ``jointwatch audit`` in-process (typer's CliRunner) on SQLite.

Why in-process: these commands only touch the database, so no node process is needed and
the credentials they print can be checked straight against the repositories.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner, Result

from jointwatch.cli import app
from jointwatch.config import Settings
from jointwatch.sharing.audit import sign_head
from jointwatch.sharing.service import RecordError, SharingService
from jointwatch.store import make_engine, migrate

PASSWORD = "correct horse battery staple"


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A USA node's data directory; no stray JOINTWATCH_* setting from the caller leaks in."""
    monkeypatch.delenv("JOINTWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOINTWATCH_DATA_DIR", raising=False)
    monkeypatch.setenv("JOINTWATCH_NATION", "USA")
    return tmp_path


def jw(node: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, [*args, "--data-dir", str(node)], input=stdin)


@pytest.fixture
def service(node: Path) -> Iterator[SharingService]:
    settings = Settings(data_dir=node)
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    yield SharingService(settings, engine)
    engine.dispose()


def sql(node: Path, statement: str) -> None:
    engine = sa.create_engine(f"sqlite:///{node / 'jointwatch.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def test_user_add_with_password_from_stdin(node: Path, service: SharingService) -> None:
    result = jw(
        node, "admin", "user", "add", "alice", "--role", "admin", "--nation", "usa",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # nothing secret, nothing to capture
    user = service.accounts.check_password("alice", PASSWORD)
    assert user is not None
    assert (user.nation, user.role, user.clearance) == ("USA", "admin", "SECRET")
    assert service.accounts.check_password("alice", PASSWORD + "x") is None
    last = service.audit.recent(1)[0]
    assert (last["actor"], last["action"], last["object_id"]) == ("admin-cli", "admin", "alice")
    assert PASSWORD not in json.dumps(last["detail"])


def test_user_add_without_password_prints_enrolment_link(
    node: Path, service: SharingService
) -> None:
    result = jw(
        node, "admin", "user", "add", "bob", "--role", "analyst", "--nation", "GBR",
        "--clearance", "restricted", "--base-url", "https://watch.example/",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith("https://watch.example/auth/enrol?token=")
    secret = link.split("token=", 1)[1]
    user = service.accounts.redeem_enrolment(secret)
    assert user is not None and user.username == "bob" and user.clearance == "RESTRICTED"
    assert service.accounts.redeem_enrolment(secret) is None  # single use

    fresh = jw(node, "admin", "user", "enrol", "bob")
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout.startswith("http://127.0.0.1:8000/auth/enrol?token=")

    listed = jw(node, "admin", "user", "list")
    assert listed.exit_code == 0
    assert "bob" in listed.stdout and "GBR" in listed.stdout and "RESTRICTED" in listed.stdout


def test_user_password_disable_enable(node: Path, service: SharingService) -> None:
    jw(node, "admin", "user", "add", "carol", "--role", "analyst", "--nation", "USA")
    assert jw(node, "admin", "user", "password", "carol", stdin=PASSWORD + "\n").exit_code == 0
    assert service.accounts.check_password("carol", PASSWORD) is not None
    assert jw(node, "admin", "user", "disable", "carol").exit_code == 0
    assert service.accounts.check_password("carol", PASSWORD) is None
    assert jw(node, "admin", "user", "enable", "carol").exit_code == 0
    assert service.accounts.check_password("carol", PASSWORD) is not None
    short = jw(node, "admin", "user", "password", "carol", stdin="short\n")
    assert short.exit_code == 2 and "at least" in short.output


def test_token_create_authenticates_and_read_only(node: Path, service: SharingService) -> None:
    jw(node, "admin", "user", "add", "dave", "--role", "watch_officer", "--nation", "USA")
    result = jw(node, "admin", "token", "create", "dave", "--name", "script")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token and token.startswith("jw_")
    assert "shown once" in result.stderr
    principal = service.accounts.authenticate_key(token, "127.0.0.1")
    assert principal is not None and principal.username == "dave" and not principal.read_only
    assert "records:write" in principal.permissions

    ro = jw(
        node, "admin", "token", "create", "dave", "--read-only",
        "--allow-ip", "10.0.0.0/8", "--expires-days", "1",
    )  # fmt: skip
    assert ro.exit_code == 0, ro.output
    ro_token = ro.stdout.strip()
    assert service.accounts.authenticate_key(ro_token, "127.0.0.1") is None  # not allowed IP
    reader = service.accounts.authenticate_key(ro_token, "10.1.2.3")
    assert reader is not None and reader.read_only
    assert "records:write" not in reader.permissions and "records:read" in reader.permissions

    listed = jw(node, "admin", "token", "list", "--user", "dave")
    assert listed.exit_code == 0
    assert principal.key_id in listed.stdout and "10.0.0.0/8" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout  # never the secret (which may hold "_")

    assert jw(node, "admin", "token", "revoke", str(principal.key_id)).exit_code == 0
    assert service.accounts.authenticate_key(token, "127.0.0.1") is None


def test_partner_add_prints_inbound_partner_token(node: Path, service: SharingService) -> None:
    result = jw(
        node, "admin", "partner", "add", "jw-vnm", "--nation", "VNM",
        "--url", "http://127.0.0.1:8001/", "--ceiling", "restricted",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    principal = service.accounts.authenticate_key(token, "203.0.113.9")
    assert principal is not None
    assert (principal.role, principal.nation, principal.clearance) == (
        "partner",
        "VNM",
        "RESTRICTED",
    )
    assert service.partner_for(principal)["name"] == "jw-vnm"

    assert jw(node, "admin", "partner", "set-token", "jw-vnm", "jw_outbound").exit_code == 0
    assert jw(node, "admin", "partner", "set-url", "jw-vnm", "https://vnm.example").exit_code == 0
    partner = service.records.partner("jw-vnm")
    assert partner is not None
    assert (partner["outbound_token"], partner["url"]) == ("jw_outbound", "https://vnm.example")

    assert jw(node, "admin", "partner", "disable", "jw-vnm").exit_code == 0
    with pytest.raises(RecordError, match="no enabled partner"):
        service.partner_for(principal)  # its inbound calls are refused
    listed = jw(node, "admin", "partner", "list")
    assert listed.exit_code == 0
    assert "jw-vnm" in listed.stdout and "RESTRICTED" in listed.stdout
    assert "https://vnm.example" in listed.stdout
    assert jw(node, "admin", "partner", "enable", "jw-vnm").exit_code == 0

    assert jw(node, "admin", "partner", "remove", "jw-vnm").exit_code == 0
    assert service.records.partner("jw-vnm") is None
    assert service.accounts.authenticate_key(token, "203.0.113.9") is None
    missing = jw(node, "admin", "partner", "remove", "jw-vnm")
    assert missing.exit_code == 2 and "no partner" in missing.output


def test_partner_needs_own_nation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOINTWATCH_NATION", "ZZZ")
    result = jw(
        tmp_path, "admin", "partner", "add", "jw-vnm", "--nation", "VNM", "--ceiling", "SECRET"
    )
    assert result.exit_code == 2
    assert "JOINTWATCH_NATION" in result.output


def test_group_set_list_remove(node: Path, service: SharingService) -> None:
    result = jw(
        node, "admin", "group", "set", "asean-marsec", "--nations", "VNM, phl,IDN",
        "--description", "maritime security",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert service.records.groups() == {
        "ASEAN-MARSEC": {"nations": ["IDN", "PHL", "VNM"], "description": "maritime security"}
    }
    listed = jw(node, "admin", "group", "list")
    assert listed.exit_code == 0
    assert "ASEAN-MARSEC" in listed.stdout and "IDN,PHL,VNM" in listed.stdout

    for args, words in (
        (("ABC", "--nations", "VNM"), "group name"),
        (("PACIFIC", "--nations", "VNM,VN"), "VN"),
        (("PACIFIC", "--nations", ","), "at least one nation"),
    ):
        bad = jw(node, "admin", "group", "set", *args)
        assert bad.exit_code == 2, bad.output
        assert words in bad.output and len(bad.output.strip().splitlines()) == 1

    assert jw(node, "admin", "group", "remove", "asean-marsec").exit_code == 0
    assert service.records.groups() == {}


def test_bad_nation_is_one_line_exit_2(node: Path) -> None:
    result = jw(node, "admin", "user", "add", "erin", "--role", "analyst", "--nation", "U5A")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "U5A" in lines[0]
    assert "Traceback" not in result.output


def _some_history(node: Path) -> None:
    jw(node, "admin", "user", "add", "frank", "--role", "analyst", "--nation", "USA")
    jw(node, "admin", "group", "set", "QUAD", "--nations", "AUS,IND,JPN")
    jw(node, "admin", "token", "create", "frank")
    jw(node, "admin", "user", "disable", "frank")


def test_audit_verify_intact_then_edited(node: Path) -> None:
    _some_history(node)
    result = jw(node, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "audit log intact: 5 entries, head 5 " in result.stdout

    shown = jw(node, "audit", "show", "--limit", "3")
    assert shown.exit_code == 0
    assert "admin-cli" in shown.stdout and "user:frank" in shown.stdout

    sql(node, "UPDATE audit_log SET actor='mallory' WHERE seq=2")
    broken = jw(node, "audit", "verify")
    assert broken.exit_code == 1
    assert "2: content does not match its hash" in broken.stdout


def test_audit_verify_finds_deleted_row(node: Path) -> None:
    _some_history(node)
    sql(node, "DELETE FROM audit_log WHERE seq=3")
    result = jw(node, "audit", "verify")
    assert result.exit_code == 1
    assert "4: sequence 4 where 3 was due" in result.stdout
    assert "4: prev_hash does not match" in result.stdout


def _write_signed_head(node: Path, seq: int, head_hash: str, path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    (node / "node-ed25519.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path.write_text(json.dumps(sign_head(key, "jw-usa", seq, head_hash)))


def test_audit_verify_signed_head_catches_truncation(
    node: Path, service: SharingService, tmp_path: Path
) -> None:
    _some_history(node)
    seq, head_hash = service.audit.head()
    _write_signed_head(node, seq, head_hash, node / "audit-head.json")
    ok = jw(node, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "no truncation" in ok.stdout

    sql(node, f"DELETE FROM audit_log WHERE seq={seq}")  # a shorter chain is still a chain
    cut = jw(node, "audit", "verify")
    assert cut.exit_code == 1
    assert "truncated" in cut.stdout

    # A head a partner kept, given explicitly; a forged one does not verify.
    forged = tmp_path / "partner-head.json"
    head = json.loads((node / "audit-head.json").read_text())
    forged.write_text(json.dumps({**head, "seq": 2}))
    result = jw(node, "audit", "verify", "--head", str(forged))
    assert result.exit_code == 1
    assert "signature does not verify" in result.stdout


def test_audit_verify_head_without_public_key(node: Path) -> None:
    _some_history(node)
    (node / "audit-head.json").write_text(
        json.dumps({"node": "jw-usa", "seq": 1, "hash": "0" * 64, "signature": "00"})
    )
    result = jw(node, "audit", "verify")
    assert result.exit_code == 2
    assert "node-ed25519.pub" in result.output
