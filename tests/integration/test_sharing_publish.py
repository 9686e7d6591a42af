"""TLP:CLEAR records may be published: the public feed carries exactly our own records
marked TLP:CLEAR at the lowest classification, without sign-in, each with its marking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jointwatch.api.app import create_app
from jointwatch.config import Settings

MARKINGS: dict[str, dict[str, Any]] = {
    "clear": {"classification": "UNCLASSIFIED", "tlp": "TLP:CLEAR"},
    "clear-rel": {"classification": "UNCLASSIFIED", "rel_to": ["VNM"], "tlp": "TLP:CLEAR"},
    "clear-restricted": {"classification": "RESTRICTED", "tlp": "TLP:CLEAR"},
    "clear-noforn": {"classification": "UNCLASSIFIED", "local_only": True, "tlp": "TLP:CLEAR"},
    "green": {"classification": "UNCLASSIFIED", "tlp": "TLP:GREEN"},
    "none": {"classification": "UNCLASSIFIED", "rel_to": ["VNM"]},
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, nation="USA", detect=False, federation=False)
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client


def test_public_feed_holds_only_our_tlp_clear_records_at_the_lowest_level(
    client: TestClient,
) -> None:
    sharing = client.app.state.sharing  # type: ignore[attr-defined]
    sharing.accounts.create_user("officer", nation="USA", role="watch_officer")
    _, token = sharing.accounts.create_key("officer")
    headers = {"Authorization": f"Bearer {token}"}
    for name, marking in MARKINGS.items():
        payload = {"title": f"{name} <b>=1+1</b>", "lat": 10.0, "lon": 110.0}
        created = client.post(
            "/api/records",
            headers=headers,
            json={"kind": "report", "payload": payload, "marking": marking},
        )
        assert created.status_code == 201, created.text
    # A partner's TLP:CLEAR record is the partner's to publish, not ours.
    partner_token = sharing.add_partner("vnm", nation="VNM", url=None, ceiling="RESTRICTED")
    pushed = client.post(
        "/api/federation/records",
        headers={"Authorization": f"Bearer {partner_token}"},
        json={
            "node": "jw-vnm",
            "nation": "VNM",
            "records": [
                {
                    "gid": "jw-vnm:clear",
                    "kind": "report",
                    "origin_nation": "VNM",
                    "origin_node": "jw-vnm",
                    "version": 1,
                    "marking": MARKINGS["clear-rel"] | {"rel_to": ["USA"]},
                    "rel_nations": ["USA"],
                    "payload": {"title": "vnm clear"},
                }
            ],
        },
    )
    assert [r["status"] for r in pushed.json()["receipts"]] == ["accepted"]

    feed = client.get("/api/public/records.geojson")  # no credential
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/geo+json")
    features = feed.json()["features"]
    titles = sorted(f["properties"]["payload"]["title"].split(" ")[0] for f in features)
    assert titles == ["clear", "clear-rel"]
    banners = {f["properties"]["marking"] for f in features}
    assert banners == {"UNCLASSIFIED//TLP:CLEAR", "UNCLASSIFIED//REL TO VNM//TLP:CLEAR"}
    assert all(f["geometry"]["coordinates"] == [110.0, 10.0] for f in features)

    # Withdrawn: gone from the feed.
    gid = next(f["properties"]["gid"] for f in features if "rel" not in f["properties"]["marking"])
    assert client.delete(f"/api/records/{gid}", headers=headers).status_code == 200
    after = client.get("/api/public/records.geojson").json()["features"]
    assert [f["properties"]["gid"] for f in after] != [] and gid not in {
        f["properties"]["gid"] for f in after
    }
