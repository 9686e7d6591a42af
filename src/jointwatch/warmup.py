"""Load, or on a new machine compile, every compiled loop before a node takes traffic.

Why: numba compiles a kernel on its first call (then keeps it in ``__pycache__``). On a
fresh install that first call takes seconds, so a live node's first sentence waited for
the decoder and the detectors to compile and its first alert arrived seconds late. A node
runs this at start, before it opens its sources; the work is a throwaway pipeline and
batch, so nothing the node holds changes.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from jointwatch.ais import AisPipeline, with_tag_block
from jointwatch.ais.corpus import corpus_sentences
from jointwatch.ais.dedupe import RecentKeys
from jointwatch.ais.framing import block_records
from jointwatch.detect.batch import build_batch
from jointwatch.detect.state import VesselState
from jointwatch.picture.positions import split_decoded

__all__ = ["warm_up"]

log = logging.getLogger(__name__)

_WARM_UP_S = 1_764_000_000.0  # any receive time: nothing is kept


def warm_up() -> float:
    """Run every compiled loop once on a few sentences of each kind; returns the seconds
    it took (a fraction of a second once compiled, seconds on a machine's first run).

    numba compiles a loop again for arrays that differ only in being read-only, and which
    ones are depends on the batch (a batch with a joined two-part message decodes from a
    new, writable buffer; one without, from the received bytes). So the warm-up takes the
    shapes a node meets: a mixed block, single sentences only, and one line alone."""
    started = time.perf_counter()
    log.info("preparing the compiled decoder and detectors (about 20 s on a first run)")
    sentences = corpus_sentences(60, seed=7)  # every vectorised type, two-part type 5s
    mixed = [
        with_tag_block(s, c=int(_WARM_UP_S), s="warm-up") if i % 2 else s
        for i, s in enumerate(sentences)
    ]
    single = [s for s in mixed if ",1,1," in s]
    for lines in (mixed, single, single[:1]):
        block = ("\n".join(lines) + "\n").encode()
        for decoded in (
            AisPipeline().process_block(block, "warm-up", _WARM_UP_S),
            AisPipeline().process(lines, "warm-up", _WARM_UP_S),
        ):
            build_batch(split_decoded(decoded).positions, VesselState())  # detectors' join
        block_records(block, b"warm-up ")  # the journal's records
    keys = RecentKeys(initial=1)  # small, so that its index is rebuilt once
    keys.fresh(np.arange(4, dtype=np.int64), np.zeros(4), 30.0, 10)
    seconds = time.perf_counter() - started
    log.info("compiled kernels ready in %.2f s", seconds)
    return seconds


if __name__ == "__main__":  # ``python -m jointwatch.warmup``: compile before the test suite
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warm_up()
