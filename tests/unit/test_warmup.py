"""The node's warm-up reaches every compiled loop, so none compiles on live traffic."""

from __future__ import annotations

import importlib

import numba

from jointwatch.warmup import warm_up

#: Every module that defines numba kernels (a new one must be added here and warmed up).
KERNEL_MODULES = (
    "jointwatch.ais.kernels",
    "jointwatch.ais.spans",
    "jointwatch.ais.dedupe",
    "jointwatch.ais.decode_kernels",
    "jointwatch.ais.arrow_kernels",
    "jointwatch.detect.batch",
)


def _dispatchers() -> dict[str, numba.core.registry.CPUDispatcher]:
    found = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                found[f"{name}.{attr}"] = value
    return found


def test_every_kernel_module_is_listed() -> None:
    """A module of the package that imports numba is one of the listed ones."""
    import pathlib

    import jointwatch

    root = pathlib.Path(jointwatch.__file__).parent
    with_numba = {
        "jointwatch." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if "import numba" in path.read_text()
    }
    assert with_numba - {"jointwatch.ais.decode_codegen"} == set(KERNEL_MODULES)


#: Kernels with a leading underscore that Python code calls (the others are helpers,
#: compiled into the kernels that call them).
PRIVATE_ENTRIES = {
    "jointwatch.ais.dedupe._fresh",
    "jointwatch.ais.dedupe._forget",
    "jointwatch.ais.dedupe._index",
    "jointwatch.detect.batch._join",
}


def test_warm_up_compiles_every_kernel_python_calls() -> None:
    assert warm_up() >= 0
    entries = {
        name: kernel
        for name, kernel in _dispatchers().items()
        if not name.rsplit(".", 1)[1].startswith("_") or name in PRIVATE_ENTRIES
    }
    assert len(entries) >= 16
    assert [name for name, kernel in entries.items() if not kernel.signatures] == []


_LIVE_SHAPES = """
import importlib, json, sys, time
import numba
import numpy as np
from jointwatch.ais import AisPipeline, encode_message, with_tag_block
from jointwatch.ais.framing import block_records
from jointwatch.detect.batch import build_batch
from jointwatch.detect.state import VesselState
from jointwatch.picture.positions import split_decoded
from jointwatch.warmup import warm_up

MODULES = %r

def signatures():
    found = {}
    for name in MODULES:
        for attr, value in vars(importlib.import_module(name)).items():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                found[name + "." + attr] = [str(s) for s in value.signatures]
    return found

warm_up()
before = signatures()
now = 1_764_000_000
position = encode_message({"msg_type": 1, "mmsi": 412000001, "lat": 6.0, "lon": 111.0,
                           "speed": 9.0, "course": 40.0, "heading": 41, "status": 0})[0]
static = encode_message({"msg_type": 5, "mmsi": 412000001, "shipname": "WARM",
                         "callsign": "W1", "destination": "HAIPHONG"})
shapes = [
    [position],
    [with_tag_block(position, c=now, s="rx")],
    static,
    static[:1],
    static[1:],
    [position, "garbage", "!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*FF"],
]
pipeline = AisPipeline()
for i, lines in enumerate(shapes):
    rx = now + i
    for decoded in (pipeline.process(lines, "tcp", rx),
                    pipeline.process_block(("\\n".join(lines) + "\\n").encode(), "f", rx)):
        build_batch(split_decoded(decoded).positions, VesselState())
    block_records(("\\n".join(lines) + "\\n").encode(), b"tcp ")
pipeline.flush(float("inf"))
# A replay (or a node's crash recovery) reads its journal back in blocks.
import tempfile
from pathlib import Path
from jointwatch.journal import RawJournal
from jointwatch.journal_blocks import iter_journal_blocks
with tempfile.TemporaryDirectory() as root:
    journal = RawJournal(Path(root))
    journal.append([line.encode() for line in shapes[1]], "rx", now)
    journal.close()
    for record in iter_journal_blocks(Path(root)):
        pipeline.process_block(record.data, record.source, record.rx_time_s)
after = signatures()
print(json.dumps({k: v[len(before[k]):] for k, v in after.items() if v != before[k]}))
"""


def test_live_traffic_after_the_warm_up_compiles_nothing_new() -> None:
    """In a fresh interpreter (no other test's compilations): single lines, TAG blocks,
    two-part messages whole and split across batches, bad lines among good ones, through
    both paths and the detectors' join, and a journal read back for replay, add no compiled
    signature after the warm-up."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _LIVE_SHAPES % (KERNEL_MODULES,)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
