"""The detectors scored against the scripted scenario's ground truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jointwatch.ais.pipeline import AisPipeline
from jointwatch.detect.engine import DetectionEngine
from jointwatch.detect.events import EVENT_KINDS
from jointwatch.exercise.scenario import Scenario
from jointwatch.exercise.scripted import SCRIPT_HOURS, score
from jointwatch.geo.zones import load_zones
from jointwatch.picture.positions import split_decoded

ZONES = Path(__file__).parents[2] / "src" / "jointwatch" / "exercise" / "data" / "zones.geojson"
START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.slow
def test_detectors_find_every_scripted_event_among_background_traffic() -> None:
    scenario = Scenario(seed=11, vessels=40, script_start=START)
    engine = DetectionEngine(zones=load_zones(ZONES))
    pipeline = AisPipeline()
    end = START + timedelta(hours=SCRIPT_HOURS + 0.5)
    lines: list[bytes] = []
    rx = START.timestamp()
    for rx, line in scenario.sentences(START, end):  # received as it is sent
        lines.append(line.encode())
        if len(lines) == 20_000:
            batch = split_decoded(pipeline.process(lines, "scenario", rx))
            engine.feed(batch.positions, batch.static)
            lines = []
    batch = split_decoded(pipeline.process(lines, "scenario", rx))
    engine.feed(batch.positions, batch.static)

    result = score([e.to_json() for e in engine.all_events()], scenario.truth)

    print(f"\n{engine.positions_seen:,} positions, {len(scenario.vessels)} vessels")
    print(result.table())
    assert engine.positions_seen > 100_000
    assert not result.missed, result.missed
    assert result.recall >= 0.95
    assert result.precision >= 0.9, result.false_alarms
    assert {t.kind for t in result.matched} == set(EVENT_KINDS)
