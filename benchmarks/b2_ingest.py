"""B2: ingest end to end (journal, decode, dedupe, picture, Parquet, SQLite, all detectors)
vs pyais decode only."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from b1_decode import pyais_decode
from common import corpus_args, corpus_file, measure_pair, write_result


def jointwatch_ingest(path: Path) -> int:
    """What `jointwatch ingest --direct` does, on a fresh data directory each run."""
    from jointwatch.config import Settings
    from jointwatch.readahead import ingest_blocks
    from jointwatch.service import IngestService
    from jointwatch.sources import iter_file_blocks

    data_dir = Path(tempfile.mkdtemp(prefix="jw-b2-"))
    try:
        service = IngestService(Settings(data_dir=data_dir))
        lines = 0
        for _, result in ingest_blocks(service, iter_file_blocks(path)):
            lines += result.lines
        service.close()
        return lines
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run(size: int, runs: int, traffic: str = "fleet") -> dict[str, Any]:
    path = corpus_file(size, traffic=traffic)
    peer, ours, ratio = measure_pair(
        lambda: pyais_decode(path), lambda: jointwatch_ingest(path), runs
    )
    result = {
        "benchmark": "B2 ingest end to end, all detectors on",
        "sentences": size,
        "traffic": traffic,
        "pyais_decode_only": peer,
        "jointwatch_ingest": ours,
        "ratio": ratio["median"],
        "ratio_range": [ratio["min"], ratio["max"]],
        "ratio_per_round": ratio["per_round"],
    }
    write_result("b2", result, traffic)
    return result


def main() -> None:
    args = corpus_args(__doc__, runs=5)  # BENCHMARKS.md: median of 5 and min-max
    r = run(args.size, args.runs, args.traffic)
    print(
        f"| B2 ingest, {r['sentences']:,} sentences | pyais decode-only "
        f"{r['pyais_decode_only']['rate_per_s']:,.0f}/s | JointWatch end to end "
        f"{r['jointwatch_ingest']['rate_per_s']:,.0f}/s | {r['ratio']:.2f}x "
        f"(rounds {r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f}x) |"
    )


if __name__ == "__main__":
    main()
