"""SECURITY D5: 1,000 random tamperings of the audit log, 100% detected.

A 50-entry chain is written by the real ``AuditLog`` into a SQLite file, read back, then
tampered with in memory, 1,000 times with a seeded generator (edit any stored field of any
entry, delete any entry but the last, swap two entries, change a sequence number, alter a
hash, edit an entry and re-hash it). ``verify_chain`` must report every one. Cutting off the
last entry (or rewriting the tail with fresh hashes) leaves a valid shorter chain: that is
caught by the Ed25519-signed head, and a forged head is caught too. A few tamperings are also
done with SQL on the database itself and verified through ``iter_entries``.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jointwatch.sharing.audit import (
    GENESIS,
    HASHED_FIELDS,
    check_head,
    entry_hash,
    sign_head,
    verify_chain,
)
from jointwatch.store.audit_log import AuditLog
from jointwatch.store.sharing_models import AuditEntry

Entry = dict[str, Any]
CHAIN_LENGTH = 50
TAMPERINGS = 1000
NODE = "jw-usa"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> AuditLog:
    path: Path = tmp_path_factory.mktemp("audit") / "audit.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    AuditEntry.__table__.create(engine)
    audit = AuditLog(engine)
    rng = random.Random(7)
    actions = ["create", "update", "delete", "share", "receive", "login", "export", "admin"]
    for i in range(CHAIN_LENGTH):
        marked = rng.random() < 0.6
        audit.append(
            [
                {
                    "actor": rng.choice(["alice", "bob", "federation", "system", "ünïcode"]),
                    "key_id": rng.choice([None, "k0123456789ab"]),
                    "action": rng.choice(actions),
                    "object_type": rng.choice(["report", "sighting", "user", "records"]),
                    "object_id": f"jw-usa:{rng.getrandbits(64):016x}",
                    "marking_before": "RESTRICTED//REL TO VNM" if marked and i % 2 else None,
                    "marking_after": "SECRET//NOFORN" if marked else None,
                    "detail": {"version": i, "partner": rng.choice(["vnm", "phl"]), "n": i * 1.5},
                }
            ]
        )
    return audit


@pytest.fixture(scope="module")
def chain(log: AuditLog) -> list[Entry]:
    entries = list(log.iter_entries(page=7))  # several pages
    assert len(entries) == CHAIN_LENGTH
    return entries


def test_the_written_chain_verifies(log: AuditLog, chain: list[Entry]) -> None:
    assert verify_chain(chain) == []
    assert [e["seq"] for e in chain] == list(range(1, CHAIN_LENGTH + 1))
    assert chain[0]["prev_hash"] == GENESIS
    assert all(e["hash"] == entry_hash(e) for e in chain)
    assert log.head() == (CHAIN_LENGTH, chain[-1]["hash"])
    # Verification from the middle (a partner that keeps only a suffix).
    assert verify_chain(chain[:10]) == []


# ---- tamperings ---------------------------------------------------------------------------


def _changed(value: Any, rng: random.Random) -> Any:
    """A different value of a plausible type."""
    if value is None:
        return rng.choice(["SECRET//REL TO VNM", "x", 0])
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([-2, -1, 1, 2, 1000])
    if isinstance(value, dict):
        out = dict(value)
        key = rng.choice([*out, "extra"])
        out[key] = _changed(out.get(key), rng)
        return out
    text = str(value)
    edits: list[Callable[[str], str]] = [
        lambda t: t + " ",
        lambda t: t[:-1] if t else "x",
        lambda t: t.upper() if t != t.upper() else t.lower() + "!",
        lambda t: "0" * len(t) if t.strip("0") else "1" * max(1, len(t)),
        lambda t: (t[1:] + t[:1]) if len(set(t)) > 1 else t + "1",
        lambda t: None,  # type: ignore[return-value,arg-type]
    ]
    return rng.choice(edits)(text)


def edit_field(entries: list[Entry], rng: random.Random) -> str:
    i = rng.randrange(len(entries))
    name = rng.choice([*HASHED_FIELDS, "hash"])
    before = entries[i].get(name)
    after = _changed(before, rng)
    assert after != before
    entries[i][name] = after
    return f"edit {name}"


def delete_entry(entries: list[Entry], rng: random.Random) -> str:
    del entries[rng.randrange(len(entries) - 1)]  # any but the last (see the head tests)
    return "delete"


def delete_run(entries: list[Entry], rng: random.Random) -> str:
    start = rng.randrange(len(entries) - 1)
    stop = rng.randrange(start + 1, len(entries))  # leaves at least the last entry
    del entries[start:stop]
    return "delete run"


def swap_entries(entries: list[Entry], rng: random.Random) -> str:
    i, j = rng.sample(range(len(entries)), 2)
    entries[i], entries[j] = entries[j], entries[i]
    return "swap"


def change_seq(entries: list[Entry], rng: random.Random) -> str:
    i = rng.randrange(len(entries))
    seq = entries[i]["seq"]
    entries[i]["seq"] = rng.choice([seq + 1, seq - 1, seq + 7, 0, -seq, "x", None, str(seq) + "0"])
    return "seq"


def change_seq_and_rehash(entries: list[Entry], rng: random.Random) -> str:
    """Renumber from an entry onwards (hiding a gap) with every hash recomputed."""
    i = rng.randrange(len(entries))
    shift = rng.choice([-1, 1, 5])
    for entry in entries[i:]:
        entry["seq"] += shift
    _rehash_from(entries, i)
    return "seq+rehash"


def alter_hash(entries: list[Entry], rng: random.Random) -> str:
    i = rng.randrange(len(entries))
    name = rng.choice(["hash", "prev_hash"])
    value = entries[i][name]
    pos = rng.randrange(len(value))
    entries[i][name] = value[:pos] + ("0" if value[pos] != "0" else "1") + value[pos + 1 :]
    return f"alter {name}"


def edit_and_rehash(entries: list[Entry], rng: random.Random) -> str:
    """The forger recomputes the edited entry's own hash (not the ones after it)."""
    i = rng.randrange(len(entries) - 1)  # the last one re-hashed is caught by the head only
    name = rng.choice([f for f in HASHED_FIELDS if f not in ("seq", "prev_hash")])
    entries[i][name] = _changed(entries[i].get(name), rng)
    entries[i]["hash"] = entry_hash(entries[i])
    return "edit+rehash"


def insert_entry(entries: list[Entry], rng: random.Random) -> str:
    i = rng.randrange(len(entries))
    forged = copy.deepcopy(entries[i])
    forged["actor"] = "mallory"
    forged["hash"] = entry_hash(forged)
    entries.insert(i + 1, forged)
    return "insert"


def _rehash_from(entries: list[Entry], start: int) -> None:
    prev = entries[start - 1]["hash"] if start else GENESIS
    for entry in entries[start:]:
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)


TAMPERS = [
    edit_field,
    delete_entry,
    delete_run,
    swap_entries,
    change_seq,
    change_seq_and_rehash,
    alter_hash,
    edit_and_rehash,
    insert_entry,
]


def test_one_thousand_random_tamperings_are_all_detected(chain: list[Entry]) -> None:
    rng = random.Random(20250501)
    kinds: Counter[str] = Counter()
    missed = []
    for n in range(TAMPERINGS):
        entries = copy.deepcopy(chain)
        tamper = TAMPERS[n % len(TAMPERS)] if n < len(TAMPERS) else rng.choice(TAMPERS)
        kind = tamper(entries, rng)
        kinds[kind.split()[0]] += 1
        problems = verify_chain(entries)
        if not problems:
            missed.append((n, kind))
    assert missed == [], f"undetected tamperings: {missed[:10]}"
    assert sum(kinds.values()) == TAMPERINGS
    assert set(kinds) >= {"edit", "delete", "swap", "seq", "alter", "insert"}


def test_tampered_rows_in_the_database_are_detected(tmp_path: Path, chain: list[Entry]) -> None:
    """Tampering done with SQL on the table, verified as `audit verify` does."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    table: sa.Table = AuditEntry.__table__  # type: ignore[assignment]
    table.create(engine)
    log = AuditLog(engine)
    t = table.c
    statements = [
        table.update().where(t.seq == 17).values(actor="mallory"),
        table.update().where(t.seq == 3).values(detail={"version": 999}),
        table.update().where(t.seq == 30).values(marking_after="UNCLASSIFIED"),
        table.delete().where(t.seq == 1),
        table.delete().where(t.seq == 25),
        table.update().where(t.seq == 40).values(seq=400),
        table.update().where(t.seq == 49).values(hash="0" * 64),
    ]
    for statement in statements:
        _tamper_table(engine, chain, statement)
        assert verify_chain(log.iter_entries()), str(statement)


def _tamper_table(engine: sa.Engine, chain: list[Entry], statement: Any) -> None:
    table: sa.Table = AuditEntry.__table__  # type: ignore[assignment]
    with engine.begin() as conn:
        conn.execute(table.delete())
        conn.execute(table.insert(), chain)
    assert verify_chain(AuditLog(engine).iter_entries()) == []
    with engine.begin() as conn:
        conn.execute(statement)


def test_text_sequence_number_in_sqlite_is_reported(tmp_path: Path, chain: list[Entry]) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    table: sa.Table = AuditEntry.__table__  # type: ignore[assignment]
    table.create(engine)
    _tamper_table(engine, chain, table.update().where(table.c.seq == 12).values(seq="twelve"))
    assert verify_chain(list(AuditLog(engine).iter_entries()))


def test_verify_chain_reports_a_non_integer_sequence(chain: list[Entry]) -> None:
    for bad in ("twelve", None, "", [1]):
        entries = copy.deepcopy(chain)
        entries[11]["seq"] = bad
        assert verify_chain(entries)


# ---- the signed head ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _by_seq(entries: list[Entry]) -> dict[int, str]:
    return {int(e["seq"]): str(e["hash"]) for e in entries}


def test_cutting_the_tail_is_caught_by_the_signed_head(
    chain: list[Entry], key: Ed25519PrivateKey
) -> None:
    head = sign_head(key, NODE, chain[-1]["seq"], chain[-1]["hash"])
    public = key.public_key()
    assert check_head(public, head, _by_seq(chain)) == ""
    for cut in (1, 2, 10):
        shorter = copy.deepcopy(chain[:-cut])
        assert verify_chain(shorter) == []  # the chain alone cannot tell
        assert "truncated" in check_head(public, head, _by_seq(shorter))


def test_rewriting_the_tail_is_caught_by_the_signed_head(
    chain: list[Entry], key: Ed25519PrivateKey
) -> None:
    head = sign_head(key, NODE, chain[-1]["seq"], chain[-1]["hash"])
    rng = random.Random(3)
    for _ in range(50):
        entries = copy.deepcopy(chain)
        start = rng.randrange(len(entries))
        entries[start]["actor"] = "mallory"
        _rehash_from(entries, start)  # a forger with write access re-hashes the rest
        assert verify_chain(entries) == []
        assert "differs" in check_head(key.public_key(), head, _by_seq(entries))


def test_an_older_head_still_holds_after_more_entries(
    chain: list[Entry], key: Ed25519PrivateKey
) -> None:
    middle = chain[24]
    head = sign_head(key, NODE, middle["seq"], middle["hash"])
    assert check_head(key.public_key(), head, _by_seq(chain)) == ""
    assert check_head(key.public_key(), sign_head(key, NODE, 0, GENESIS), {}) == ""


def _flip_last_byte(hex_text: str) -> str:
    return hex_text[:-2] + f"{int(hex_text[-2:], 16) ^ 0x01:02x}"


def test_a_forged_head_is_refused(chain: list[Entry], key: Ed25519PrivateKey) -> None:
    public = key.public_key()
    genuine = sign_head(key, NODE, chain[-1]["seq"], chain[-1]["hash"])
    shorter = _by_seq(chain[:-1])
    # A forger who cut the last entry offers a head for the shorter chain.
    other_key = Ed25519PrivateKey.generate()
    forgeries = [
        sign_head(other_key, NODE, chain[-2]["seq"], chain[-2]["hash"]),  # wrong key
        {**genuine, "seq": chain[-2]["seq"], "hash": chain[-2]["hash"]},  # re-used signature
        {**genuine, "node": "jw-vnm"},
        {**genuine, "seq": 0},  # "nothing to check" needs a signature too
        {**genuine, "signature": _flip_last_byte(genuine["signature"])},
        {**genuine, "signature": "zz"},
        {**genuine, "signature": ""},
        {k: v for k, v in genuine.items() if k != "signature"},
        {**genuine, "seq": "last"},
    ]
    for head in forgeries:
        assert "signature" in check_head(public, head, shorter), head
    assert check_head(public, genuine, shorter) != ""
