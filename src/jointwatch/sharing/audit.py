"""The audit chain: every entry hashes the one before it.

Why a chain: an edited entry changes its hash, a deleted one breaks the next entry's
``prev_hash`` or the run of sequence numbers, so ``verify_chain`` finds either. Cutting the
tail off leaves a valid shorter chain; that is caught by comparing with a head (sequence and
hash) signed with the node's Ed25519 key and kept elsewhere (``sign_head``/``check_head``).
Pure functions over plain dicts: the store appends, this module decides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GENESIS",
    "HASHED_FIELDS",
    "ChainProblem",
    "canonical",
    "check_head",
    "entry_hash",
    "sign_head",
    "verify_chain",
]

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "key_id",
    "action",
    "object_type",
    "object_id",
    "marking_before",
    "marking_after",
    "detail",
    "prev_hash",
)


def canonical(entry: Mapping[str, Any]) -> bytes:
    """Sorted-key, no-whitespace UTF-8 JSON of the hashed fields (times as ISO strings)."""
    body = {name: entry.get(name) for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical form."""
    return hashlib.sha256(canonical(entry)).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """One place where the chain does not hold."""

    seq: int
    problem: str


def verify_chain(entries: Iterable[Mapping[str, Any]], first_seq: int = 1) -> list[ChainProblem]:
    """Every break in the chain, in order; an empty list means intact.

    Checks that sequence numbers run without gaps from ``first_seq``, that each entry's
    ``prev_hash`` is the previous entry's hash (the genesis value for the first) and that
    each stored hash matches its content.
    """
    problems: list[ChainProblem] = []
    expected_seq = first_seq
    prev = GENESIS
    for entry in entries:
        try:
            seq = int(entry.get("seq", -1))
        except (TypeError, ValueError):  # a tampered row (SQLite keeps text in any column)
            seq = -1
        if seq != expected_seq:
            problems.append(ChainProblem(seq, f"sequence {seq} where {expected_seq} was due"))
        if entry.get("prev_hash") != prev:
            problems.append(ChainProblem(seq, "prev_hash does not match the previous entry"))
        actual = entry_hash(entry)
        if entry.get("hash") != actual:
            problems.append(ChainProblem(seq, "content does not match its hash"))
        prev = str(entry.get("hash"))
        expected_seq = seq + 1
    return problems


def _head_message(node: str, seq: int, head_hash: str) -> bytes:
    return f"jointwatch-audit-head\n{node}\n{seq}\n{head_hash}".encode()


def sign_head(private_key: Any, node: str, seq: int, head_hash: str) -> dict[str, Any]:
    """A head statement signed with an Ed25519 private key (``cryptography``)."""
    signature = private_key.sign(_head_message(node, seq, head_hash))
    return {"node": node, "seq": seq, "hash": head_hash, "signature": signature.hex()}


def check_head(public_key: Any, head: Mapping[str, Any], entries_by_seq: Mapping[int, str]) -> str:
    """'' when the signed head is genuine and the chain still holds that entry; else why not."""
    from cryptography.exceptions import InvalidSignature

    try:
        seq = int(head["seq"])
        message = _head_message(str(head["node"]), seq, str(head["hash"]))
        public_key.verify(bytes.fromhex(str(head["signature"])), message)
    except (KeyError, ValueError, InvalidSignature):
        return "the head's signature does not verify"
    if seq == 0:
        return ""
    stored = entries_by_seq.get(seq)
    if stored is None:
        return f"entry {seq} named by a signed head is missing (the log was truncated)"
    if stored != head["hash"]:
        return f"entry {seq} differs from the signed head"
    return ""
