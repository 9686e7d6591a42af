"""B1: AIS decode, JointWatch's batch pipeline vs pyais per sentence, same file, same run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import corpus_args, corpus_file, measure_pair, write_result


def pyais_decode(path: Path) -> int:
    """The peer: pyais reads the file (TAG blocks, multi-part assembly) and decodes each."""
    from pyais.stream import FileReaderStream

    count = 0
    for message in FileReaderStream(str(path)):
        message.decode()
        count += 1
    return count


def jointwatch_decode(path: Path) -> int:
    """Ours: the file read in blocks through the AisPipeline's block path (framing, TAG
    blocks, assembly, dedupe, decode to Arrow columns)."""
    from jointwatch.ais import AisPipeline
    from jointwatch.sources import iter_file_blocks

    pipeline = AisPipeline()
    decoded = 0
    for block in iter_file_blocks(path):
        decoded += pipeline.process_block(block.data, block.source, block.rx_time_s).num_rows
    pipeline.flush(float("inf"))
    return decoded


def jointwatch_positions(path: Path) -> int:
    """How many of the decoded messages are position reports (types 1, 2, 3, 18, 19, 27)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from jointwatch.ais import AisPipeline
    from jointwatch.sources import iter_file_blocks

    pipeline = AisPipeline()
    positions = 0
    kinds = pa.array([1, 2, 3, 18, 19, 27], pa.int64())
    for block in iter_file_blocks(path):
        table = pipeline.process_block(block.data, block.source, block.rx_time_s)
        hits = pc.is_in(table.column("msg_type"), value_set=kinds).cast(pa.int64())
        positions += int(pc.sum(hits).as_py() or 0)
    return positions


def run(size: int, runs: int, traffic: str = "fleet") -> dict[str, Any]:
    path = corpus_file(size, traffic=traffic)
    peer, ours, ratio = measure_pair(
        lambda: pyais_decode(path), lambda: jointwatch_decode(path), runs
    )
    positions = jointwatch_positions(path)
    result = {
        "benchmark": "B1 decode",
        "sentences": size,
        "traffic": traffic,
        "pyais": peer,
        "jointwatch": ours,
        "ratio": ratio["median"],
        "ratio_range": [ratio["min"], ratio["max"]],
        "ratio_per_round": ratio["per_round"],
        "position_reports": positions,
        "position_reports_per_s": positions / ours["median_s"],
        "file_bytes": path.stat().st_size,
        "jointwatch_bytes_per_s": path.stat().st_size / ours["median_s"],
    }
    write_result("b1", result, traffic)
    return result


def main() -> None:
    args = corpus_args(__doc__, runs=5)
    r = run(args.size, args.runs, args.traffic)
    print(
        f"| B1 decode, {r['sentences']:,} sentences | pyais {r['pyais']['rate_per_s']:,.0f}/s "
        f"| JointWatch {r['jointwatch']['rate_per_s']:,.0f}/s | {r['ratio']:.2f}x "
        f"(rounds {r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f}x) "
        f"| {r['position_reports_per_s']:,.0f} position reports/s |"
    )


if __name__ == "__main__":
    main()
