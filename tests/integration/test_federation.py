"""Federation between real nodes: what a partner receives, revocation, partitions, audit.

Two ``jointwatch serve`` processes (USA and VNM) on loopback, each on its own database of
the backend under test (SQLite files, or two PostgreSQL databases), linked as partners. The
assertions read both the API (what people see) and the databases (what is stored, so that a
leak or a duplicate hidden by the API would still be found).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from jointwatch.config import Settings
from jointwatch.sharing.markings import Marking
from jointwatch.sharing.service import SharingService
from jointwatch.store import make_engine, migrate
from tests.integration.federation_helpers import (
    NOFORN,
    Node,
    link,
    make_node,
    pg_database,
    rel_to,
    wait_until,
)

pytestmark = pytest.mark.slow

GROUP = "ASEAN-MARSEC"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Node, Node]]:
    """USA and VNM nodes, running and linked; each releases to the other up to RESTRICTED.

    One pair per backend, shared by the tests of this module (starting a node costs seconds):
    each test writes its own records (titles with its own prefix) and asserts on those only.
    As ``db_url`` does, the PostgreSQL variant gets fresh databases, dropped afterwards.
    """
    base = tmp_path_factory.mktemp(f"federation-{request.param}")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            usa_url, vnm_url = (f"sqlite:///{base / name}" for name in ("usa.db", "vnm.db"))
        else:
            admin = request.getfixturevalue("pg_admin_engine")
            usa_url = stack.enter_context(pg_database(admin))
            vnm_url = stack.enter_context(pg_database(admin))
        usa = make_node("USA", usa_url, base / "usa", groups={GROUP: ["PHL", "VNM"]})
        stack.callback(usa.close)
        vnm = make_node("VNM", vnm_url, base / "vnm")
        stack.callback(vnm.close)
        link(usa, vnm, a_grants_b="RESTRICTED", b_grants_a="RESTRICTED")
        usa.start()
        vnm.start()
        yield usa, vnm


@pytest.fixture
def nodes(pair: tuple[Node, Node]) -> tuple[Node, Node]:
    """The pair, both running (a test that stopped one and failed leaves it stopped)."""
    for node in pair:
        node.start()
    return pair


def partner_health(node: Node, name: str) -> dict[str, Any]:
    with node.api() as client:
        response = client.get("/api/partners")
    response.raise_for_status()
    return next(p for p in response.json()["partners"] if p["name"] == name)


def pushed_past(node: Node, name: str, seq: int) -> bool:
    return partner_health(node, name)["push_cursor"] >= seq


# ---- 1. the release rule across two nodes ------------------------------------------------


def test_partner_receives_exactly_what_is_released_to_it(nodes: tuple[Node, Node]) -> None:
    usa, vnm = nodes
    latencies = []

    def arrives(title: str, marking: dict[str, Any]) -> dict[str, Any]:
        """Post at USA; the seconds until VNM stored it (its database polled every 5 ms)."""
        posted_at = time.monotonic()
        record = usa.post_record(title, marking)
        wait_until(lambda: vnm.service.records.get(record["gid"]), bool, 10, every_s=0.005)
        latencies.append(time.monotonic() - posted_at)
        return record

    a = arrives("T1-A", rel_to("VNM"))
    b = usa.post_record("T1-B", NOFORN)
    c = arrives("T1-C", rel_to(GROUP))
    d = usa.post_record("T1-D", rel_to("VNM", classification="CONFIDENTIAL"))
    # D is the newest change: once USA's push cursor passed it, B and D had their chance.
    wait_until(lambda: pushed_past(usa, "vnm", d["seq"]), bool, 15)
    print(f"\npush latency, POST at USA -> stored at VNM: {[f'{s:.3f} s' for s in latencies]}")

    seen = vnm.visible("T1-")
    assert set(seen) == {"T1-A", "T1-C"}
    for mine in (a, c):
        theirs = seen[mine["payload"]["title"]]
        assert theirs["gid"] == mine["gid"]
        assert theirs["marking"] == mine["marking"]
        assert theirs["banner"] == mine["banner"]
        assert theirs["origin_nation"] == "USA"
        assert theirs["origin_node"] == "jw-usa"
        assert theirs["received_from"] == "usa"
        assert theirs["version"] == 1
        assert theirs["payload"] == mine["payload"]
    assert seen["T1-C"]["rel_nations"] == ["PHL", "VNM"]  # USA's expansion of its group
    # Not even a trace of B or D is stored at VNM, nor did USA ever send them.
    assert not {b["gid"], d["gid"]} & vnm.stored_gids()
    sent = usa.service.records.delivered("vnm", [r["gid"] for r in (a, b, c, d)])
    assert set(sent) == {a["gid"], c["gid"]}
    # Push and VNM's pull may both deliver a record: the later copy is a "duplicate".
    assert {r["status"] for r in sent.values()} <= {"accepted", "duplicate", "sent"}, sent
    assert "accepted" in {r["status"] for r in sent.values()}, sent

    health = partner_health(usa, "vnm")
    assert health["receipts"].get("accepted", 0) >= 1
    assert "rejected" not in health["receipts"]
    assert health["last_error"] is None
    assert health["pending"] == 0
    # Nothing of USA's own ever goes back to USA.
    assert not usa.service.records.delivered("usa", [a["gid"], c["gid"]])
    assert not vnm.service.records.delivered("usa", [a["gid"], c["gid"]])


# ---- 2. updates, re-marking and withdrawal travel too ------------------------------------


def test_update_remark_and_delete_reach_the_partner(nodes: tuple[Node, Node]) -> None:
    usa, vnm = nodes

    def seen() -> dict[str, dict[str, Any]]:
        return vnm.visible("T2-")

    a = usa.post_record("T2-A", rel_to("VNM"), text="first")
    c = usa.post_record("T2-C", rel_to(GROUP))
    wait_until(seen, lambda s: set(s) == {"T2-A", "T2-C"}, 10)

    with usa.api() as client:
        response = client.put(
            f"/api/records/{a['gid']}",
            json={"payload": {"title": "T2-A", "text": "second"}, "version": 1},
        )
        assert response.status_code == 200, response.text
        edited = response.json()
        assert edited["version"] == 2
    now, _ = wait_until(seen, lambda s: s["T2-A"]["version"] == 2, 10)
    assert now["T2-A"]["payload"] == edited["payload"]
    assert now["T2-A"]["payload"]["text"] == "second"

    with usa.api() as client:
        response = client.put(f"/api/records/{c['gid']}", json={"marking": NOFORN})
        assert response.status_code == 200, response.text
    wait_until(seen, lambda s: "T2-C" not in s, 10)
    tomb = {r["gid"]: r for r in vnm.stored()}[c["gid"]]
    assert tomb["deleted"] is True
    assert tomb["payload"] == {}  # the content is gone, not merely hidden
    assert tomb["version"] == 2

    with usa.api() as client:
        response = client.delete(f"/api/records/{a['gid']}")
        assert response.status_code == 200, response.text
    wait_until(seen, lambda s: "T2-A" not in s, 10)
    stored = {r["gid"]: r for r in vnm.stored()}
    assert stored[a["gid"]]["deleted"] is True
    assert stored[a["gid"]]["payload"] == {}
    assert stored[a["gid"]]["version"] == 3
    with vnm.api() as client:
        assert client.get(f"/api/records/{a['gid']}").status_code == 404
        assert client.get(f"/api/records/{c['gid']}").status_code == 404

    wait_until(
        lambda: usa.service.records.delivered("vnm", [a["gid"], c["gid"]]),
        lambda sent: {r["status"] for r in sent.values()} == {"withdrawn"} and len(sent) == 2,
        10,
    )


# ---- 3. partition and heal ---------------------------------------------------------------


def test_partition_heals_without_leaks_or_duplicates(nodes: tuple[Node, Node]) -> None:
    usa, vnm = nodes
    vnm.stop()

    # Four ways of not being released to VNM.
    not_released_markings = [
        NOFORN,
        rel_to("PHL"),
        rel_to("VNM", classification="CONFIDENTIAL"),
        rel_to("GBR", "PHL"),
    ]
    with usa.api() as client:
        released = [
            usa.post_record(f"T3-R{i:02d}", rel_to("VNM"), client, text="v1") for i in range(50)
        ]
        withheld = [
            usa.post_record(f"T3-N{i:02d}", not_released_markings[i % 4], client, text="v1")
            for i in range(50)
        ]
    latest = {r["gid"]: 1 for r in released}
    with usa.api() as client:
        for record in released[:10] + released[:3] + withheld[:5]:
            response = client.put(
                f"/api/records/{record['gid']}",
                json={"payload": {"title": record["payload"]["title"], "text": "edited"}},
            )
            assert response.status_code == 200, response.text
            if record["gid"] in latest:
                latest[record["gid"]] = response.json()["version"]
    assert sorted(latest.values()).count(3) == 3

    healed_at = time.monotonic()
    vnm.start()
    wait_until(
        lambda: vnm.visible("T3-"),
        lambda seen: {r["gid"]: r["version"] for r in seen.values()} == latest,
        30,
        every_s=0.1,
    )
    caught_up_s = time.monotonic() - healed_at
    print(f"\ncatch-up of 50 records after a partition: {caught_up_s:.2f} s from VNM's restart")

    mine = {r["gid"] for r in released + withheld}
    stored = [r for r in vnm.stored() if r["gid"] in mine]
    gids = [r["gid"] for r in stored]
    assert len(gids) == len(set(gids)) == 50  # zero duplicates
    assert set(gids) == set(latest)  # zero leaks: no withheld record, not even a tombstone
    for row in stored:
        assert row["version"] == latest[row["gid"]]
        assert row["payload"]["text"] == ("edited" if row["version"] > 1 else "v1")
        assert not row["deleted"]

    # The other way: VNM writes while USA is down; USA catches up when it returns.
    usa.stop()
    back = vnm.post_record("T3-V1", rel_to("USA"), text="from VNM")
    kept = vnm.post_record("T3-V2", NOFORN)
    usa.start()
    seen, _ = wait_until(lambda: usa.visible("T3-V"), lambda s: "T3-V1" in s, 30, every_s=0.1)
    assert set(seen) == {"T3-V1"}
    assert seen["T3-V1"]["gid"] == back["gid"]
    assert seen["T3-V1"]["origin_nation"] == "VNM"
    assert seen["T3-V1"]["received_from"] == "vnm"
    assert kept["gid"] not in usa.stored_gids()
    # USA's push loop catches up too (re-offering what VNM already pulled, if its cursor was
    # behind): VNM answers "duplicate" and still holds each record once, at its latest version.
    wait_until(
        lambda: partner_health(usa, "vnm"),
        lambda h: h["pending"] == 0 and h["last_error"] is None,
        30,
        every_s=0.5,
    )
    after = [r for r in vnm.stored() if r["gid"] in mine]
    assert sorted((r["gid"], r["version"]) for r in after) == sorted(latest.items())


# ---- 4. a received record is never re-shared beyond its originator's release -------------


def _wire(gid: str, marking: dict[str, Any], rel_nations: list[str], version: int = 1) -> dict:
    now = datetime.now(UTC).isoformat()
    return {
        "gid": gid,
        "kind": "report",
        "origin_nation": "USA",
        "origin_node": "jw-usa",
        "version": version,
        "marking": marking,
        "rel_nations": rel_nations,
        "payload": {"title": gid},
        "created_at": now,
        "updated_at": now,
    }


def test_received_records_are_not_reshared_beyond_the_originators_release(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    try:
        svc = SharingService(Settings(nation="VNM", data_dir=tmp_path, database_url=db_url), engine)
        # VNM's group of the same name is wider than USA's was: it must not widen anything.
        svc.records.put_group(GROUP, ["PHL", "USA", "VNM"])
        svc.reload_groups()
        svc.add_partner("usa", nation="USA", url=None, ceiling="SECRET")
        svc.add_partner("phl", nation="PHL", url="http://127.0.0.1:9", ceiling="RESTRICTED")
        usa, phl = svc.records.partner("usa"), svc.records.partner("phl")
        assert usa is not None and phl is not None

        items = [
            _wire("jw-usa:only-vnm", rel_to("VNM"), ["VNM"]),
            _wire("jw-usa:group", rel_to(GROUP), ["VNM"]),  # USA's group held VNM alone
            _wire("jw-usa:both", rel_to("PHL", "VNM"), ["PHL", "VNM"]),
            _wire(
                "jw-usa:conf", rel_to("PHL", "VNM", classification="CONFIDENTIAL"), ["PHL", "VNM"]
            ),
            _wire("jw-usa:red", {**rel_to(GROUP), "tlp": "TLP:RED"}, ["PHL", "VNM"]),
        ]
        receipts = svc.receive(usa, items)
        assert [r["status"] for r in receipts] == ["accepted"] * len(items)

        offered, cursor, more = svc.outgoing(phl, 0, 1000)
        assert [i["gid"] for i in offered] == ["jw-usa:both"]
        assert not more
        assert offered[0]["rel_nations"] == ["PHL", "VNM"]
        assert offered[0]["marking"] == Marking.from_json(items[2]["marking"]).to_json()
        assert offered[0]["origin_nation"] == "USA"
        assert svc.outgoing(usa, 0, 1000)[0] == []  # nothing goes back to its originator

        # PHL took it; then USA narrows the release to VNM alone: PHL gets a revocation.
        svc.note_sent(phl, offered, [{"gid": "jw-usa:both", "status": "accepted"}])
        narrowed = _wire("jw-usa:both", rel_to("VNM"), ["VNM"], version=2)
        assert svc.receive(usa, [narrowed])[0]["status"] == "accepted"
        again, _, _ = svc.outgoing(phl, cursor, 1000)
        assert again == [{"gid": "jw-usa:both", "version": 2, "revoked": True}]
    finally:
        engine.dispose()


# ---- 5. receiving is idempotent ----------------------------------------------------------


def test_pushing_twice_changes_nothing_and_older_versions_are_stale(
    nodes: tuple[Node, Node],
) -> None:
    """Pushes in USA's name, with the credential VNM issued to USA, straight to VNM."""
    _, vnm = nodes
    gid = f"jw-usa:t5-{uuid.uuid4().hex}"
    others = [f"jw-usa:t5-elsewhere-{uuid.uuid4().hex}", f"jw-vnm:t5-{uuid.uuid4().hex}"]

    def push(*items: dict[str, Any], nation: str = "USA", token: str | None = None) -> Any:
        with httpx.Client(base_url=vnm.url, timeout=10) as client:
            return client.post(
                "/api/federation/records",
                headers={"Authorization": f"Bearer {token or vnm.partner_tokens['usa']}"},
                json={"node": "jw-usa", "nation": nation, "records": list(items)},
            )

    def statuses(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [r["status"] for r in response.json()["receipts"]]

    def audited() -> list[dict[str, Any]]:
        with vnm.api() as client:
            return list(client.get("/api/audit", params={"object_id": gid}).json()["entries"])

    def mine() -> list[dict[str, Any]]:
        return [r for r in vnm.stored() if r["gid"] in {gid, *others}]

    v1 = _wire(gid, rel_to("VNM"), ["VNM"])
    assert statuses(push(v1)) == ["accepted"]
    row, entries = vnm.service.records.get(gid), audited()
    assert [e["action"] for e in entries] == ["receive"]
    assert statuses(push(v1)) == ["duplicate"]
    assert vnm.service.records.get(gid) == row  # not even its change sequence moved
    assert audited() == entries  # nothing happened, so nothing was audited
    assert len(mine()) == 1

    v3 = {**_wire(gid, rel_to("VNM"), ["VNM"], version=3), "payload": {"title": "third"}}
    v2 = {**_wire(gid, rel_to("VNM"), ["VNM"], version=2), "payload": {"title": "second"}}
    assert statuses(push(v3)) == ["accepted"]
    assert statuses(push(v2, v3)) == ["stale", "duplicate"]
    assert statuses(push({"gid": gid, "version": 2, "deleted": True})) == ["stale"]
    stored = vnm.service.records.get(gid)
    assert stored is not None
    assert (stored["version"], stored["payload"]["title"], stored["deleted"]) == (3, "third", False)
    assert [r["gid"] for r in vnm.visible("third").values()] == [gid]

    # What the partner may not send is refused, one receipt each, and changes nothing.
    refused = push(
        _wire(others[0], rel_to("PHL"), ["PHL"]),
        {**_wire(others[1], rel_to("VNM"), ["VNM"]), "origin_nation": "VNM"},
        {**_wire(others[0], NOFORN, []), "version": 2},
        {**_wire(others[0], rel_to("VNM"), ["VNM"]), "kind": "zone"},
    )
    assert statuses(refused) == ["rejected"] * 4
    assert push(v1, nation="PHL").status_code == 403  # a push in another nation's name
    assert push(v1, token=vnm.proc.token).status_code == 403  # a person, not a partner
    assert len(mine()) == 1


# ---- 6. the audit chains hold and tell who shared what ------------------------------------


def test_audit_chains_verify_and_record_shares_and_receipts(nodes: tuple[Node, Node]) -> None:
    usa, vnm = nodes
    out = usa.post_record("T6-U1", rel_to("VNM"))
    back = vnm.post_record("T6-V1", rel_to("USA"))
    wait_until(lambda: vnm.visible("T6-"), lambda s: "T6-U1" in s, 10)
    wait_until(lambda: usa.visible("T6-"), lambda s: "T6-V1" in s, 10)
    with usa.api() as client:
        assert client.delete(f"/api/records/{out['gid']}").status_code == 200
    wait_until(lambda: vnm.visible("T6-"), lambda s: "T6-U1" not in s, 10)

    def entries(node: Node, gid: str) -> list[tuple[str, str]]:
        with node.api() as client:
            body = client.get("/api/audit", params={"object_id": gid}).json()
        return [(e["action"], e["actor"]) for e in reversed(body["entries"])]

    for node in (usa, vnm):
        with node.api() as client:
            verdict = client.get("/api/audit/verify").json()
        assert verdict["ok"], verdict
        assert verdict["entries"] > 0

    # Pushes and pulls overlap, so a share may be logged more than once; its order holds.
    usa_side = entries(usa, out["gid"])
    assert usa_side[0] == ("create", "admin")
    assert ("share", "federation") in usa_side
    assert usa_side.index(("delete", "admin")) < len(usa_side) - 1  # the withdrawal shared
    assert [a for a, _ in entries(vnm, out["gid"])] == ["receive", "receive"]
    assert ("share", "federation") in entries(vnm, back["gid"])
    assert [a for a, _ in entries(usa, back["gid"])] == ["receive"]


# ---- 7. a revocation reaches a partner whatever receipt it last gave ----------------------


@pytest.mark.parametrize("receipt", ["stale", "rejected"])
def test_revocation_reaches_a_partner_whose_last_receipt_was_not_accepted(
    db_url: str, tmp_path: Path, receipt: str
) -> None:
    """Push and pull overlap: a slow push of version 1 can land after the partner pulled
    version 2 and come back "stale" (or a later version is "rejected" while the partner
    keeps the earlier one). The partner still holds the record, so a re-marking that takes
    it out of its reach must still send the revocation."""
    engine = make_engine(db_url)
    migrate(engine)
    try:
        svc = SharingService(Settings(nation="USA", data_dir=tmp_path, database_url=db_url), engine)
        svc.add_partner("vnm", nation="VNM", url=None, ceiling="RESTRICTED")
        vnm = svc.records.partner("vnm")
        assert vnm is not None
        officer = svc.accounts.create_user("officer", nation="USA", role="analyst")
        gid = svc.create(officer, "report", {"title": "one"}, rel_to("VNM"))["gid"]

        pushing, cursor, _ = svc.outgoing(vnm, 0, 100)  # a push reads version 1 ...
        svc.update(officer, gid, payload={"title": "two"})
        pulled, cursor, _ = svc.outgoing(vnm, 0, 100)  # ... the partner pulls version 2 ...
        svc.note_sent(vnm, pulled, None)
        assert [i["version"] for i in pulled] == [2]
        # ... and the push lands late: the partner holds version 2 already.
        svc.note_sent(vnm, pushing, [{"gid": gid, "version": 1, "status": receipt}])

        svc.update(officer, gid, marking_data=NOFORN)
        revoked, _, _ = svc.outgoing(vnm, cursor, 100)
        assert revoked == [{"gid": gid, "version": 3, "revoked": True}]
    finally:
        engine.dispose()
