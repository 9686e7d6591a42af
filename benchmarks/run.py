"""Run the benchmarks (`make bench`) and print the README's performance table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import b1_decode
import b2_ingest
import b3_detect
import b6_sharing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    args = parser.parse_args()
    b1 = b1_decode.run(args.size, runs=5)
    b2 = b2_ingest.run(args.size, runs=5)  # BENCHMARKS.md: median of 5 and min-max
    b2_storm = b2_ingest.run(args.size, runs=1, traffic="random")
    b3 = b3_detect.run(10_000_000)
    b6 = b6_sharing.run(10_000)
    print("| benchmark | peer (same run) | JointWatch | ratio |")
    print("|---|---|---|---|")
    print(
        f"| B1 decode, {args.size:,} sentences | pyais {b1['pyais']['rate_per_s']:,.0f}/s | "
        f"{b1['jointwatch']['rate_per_s']:,.0f}/s | {b1['ratio']:.2f}x |"
    )
    for r, what in ((b2, "fleet traffic"), (b2_storm, "random traffic (alert storm)")):
        print(
            f"| B2 ingest end to end, {what} | pyais decode-only "
            f"{r['pyais_decode_only']['rate_per_s']:,.0f}/s | "
            f"{r['jointwatch_ingest']['rate_per_s']:,.0f}/s | {r['ratio']:.2f}x |"
        )
    for r in b3["sizes"]:
        print(
            f"| B3 detect, {r['positions']:,} positions, {r['vessels']:,} vessels, "
            f"{r['reports_per_vessel_per_batch']} reports per vessel per batch | "
            f"(itself) | {r['us_per_position']:.2f} µs/position | "
            f"{r['cost_vs_smallest']:.2f}x smallest |"
        )
    for row in b6_sharing.table_rows(b6):
        print(row)


if __name__ == "__main__":
    main()
