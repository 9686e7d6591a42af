"""The block path (bytes as a stream delivers them) against the list path, line for line.

``process_block`` frames lines in place in the block; ``process`` takes one item per line.
For the same lines, split as the line splitter splits them, both must give the same table
and the same counters, including odd lines, TAG groups and parts split across batches.
"""

from __future__ import annotations

import random

from jointwatch.ais import AisPipeline, with_tag_block
from jointwatch.ais.corpus import corpus_sentences
from jointwatch.sources.lines import LineSplitter


def mixed_text(seed: int) -> bytes:
    rng = random.Random(seed)
    lines: list[str] = []
    for index, sentence in enumerate(corpus_sentences(3_000, seed=seed)):
        roll = rng.random()
        if roll < 0.5:
            sentence = with_tag_block(sentence, c=1_764_000_000 + index // 20, s=f"rx{index % 3}")
        elif roll < 0.55:
            sentence = "  " + sentence + " \t"  # surrounding whitespace
        elif roll < 0.58:
            sentence = sentence[: rng.randrange(len(sentence))]  # cut short
        elif roll < 0.6:
            sentence = "\\g:1-2-77,c:1764000000*00\\" + sentence  # bad TAG checksum
        lines.append(sentence)
        if rng.random() < 0.01:
            lines.append("")  # blank line
    ending = "\r\n" if seed % 2 else "\n"
    return ending.join(lines).encode() + b"\n"


def test_blocks_and_lines_give_the_same_table_and_counters() -> None:
    for seed in range(3):
        text = mixed_text(seed)
        by_block, by_lines = AisPipeline(), AisPipeline()
        splitter = LineSplitter()
        got, want = [], []
        cut = 0
        rng = random.Random(seed)
        while cut < len(text):
            end = text.rfind(b"\n", cut, cut + rng.randrange(1, 40_000)) + 1 or len(text)
            block = text[cut:end]
            got.append(by_block.process_block(block, "rx", 1_764_000_100.0).to_pylist())
            want.append(by_lines.process(splitter.feed(block), "rx", 1_764_000_100.0).to_pylist())
            cut = end
        assert got == want
        assert by_block.stats.as_dict() == by_lines.stats.as_dict()
        assert by_block.stats.decoded > 2_000


def test_over_long_lines_of_a_block_are_counted_as_too_long() -> None:
    single = [s.encode() for s in corpus_sentences(50, seed=3) if s.startswith("!AIVDM,1,1")]
    block = single[0] + b"\n" + b"x" * 5_000 + b"\n" + single[1] + b"\r\n"
    pipeline = AisPipeline()
    table = pipeline.process_block(block, "rx", 1_764_000_100.0)
    assert table.num_rows == 2
    assert pipeline.stats.lines_read == 3
    assert pipeline.stats.rejected == {"too_long": 1}
