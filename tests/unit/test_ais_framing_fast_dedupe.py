"""The pipeline's batch de-duplication against its message-by-message meaning.

``AisPipeline`` decides each batch in one compiled loop over a log and a hash index
(``ais/dedupe.py``). ``ReferenceDedupe`` is the meaning written out one message at a time:
a message whose key (64-bit hash of payload and fill bits) was remembered at a time within
the window of its own is a duplicate; any other is fresh and (re)inserted last with its
time; after each batch, and on flush, remembered keys are dropped from the oldest inserted
on, up to the first one heard at or after the cutoff once no more than the cap are left (a
flush's cutoff is its time or the newest time heard, whichever is earlier).
Which messages are fresh, the duplicate count, the remembered keys with their times and
their order must all be identical.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jointwatch.ais import AisPipeline, pipeline
from jointwatch.ais.corpus import corpus_sentences
from jointwatch.ais.dedupe import RecentKeys
from jointwatch.ais.pipeline import dedupe_keys

START_S = 1_700_000_000.0


class ReferenceDedupe:
    def __init__(self, window_s: float, cap: int) -> None:
        self.window_s = window_s
        self.cap = cap
        self.recent: dict[int, float] = {}
        self.latest_s = -math.inf
        self.duplicates = 0

    def forget_before(self, cutoff_s: float) -> None:
        while self.recent:
            key = next(iter(self.recent))
            if self.recent[key] >= cutoff_s and len(self.recent) <= self.cap:
                break
            del self.recent[key]

    def fresh(self, payloads: list[bytes], fills: list[int], times: list[float]) -> list[int]:
        out: list[int] = []
        keys = dedupe_keys(payloads, fills).tolist()
        for index, (key, time_s) in enumerate(zip(keys, times, strict=True)):
            first = self.recent.get(key)
            if first is not None and abs(time_s - first) <= self.window_s:
                self.duplicates += 1
                continue
            if first is not None:
                del self.recent[key]
            self.recent[key] = time_s
            out.append(index)
            if time_s > self.latest_s:
                self.latest_s = time_s
        self.forget_before(self.latest_s - self.window_s)
        return out


Batch = tuple[list[bytes], list[int], list[float], float | None]
#: First sizes of the key table's arrays: as in use, and so small that the log is compacted
#: and the index rebuilt in nearly every batch.
MODES = (1024, 4, 1)


def run_both(
    batches: list[Batch],
    window_s: float,
    cap: int,
    monkeypatch: pytest.MonkeyPatch,
    mode: int = MODES[0],
) -> None:
    monkeypatch.setattr(pipeline, "_MAX_DEDUPE_KEYS", cap)
    ours = AisPipeline(dedupe_window_s=window_s)
    ours._recent = RecentKeys(initial=mode)
    reference = ReferenceDedupe(window_s, cap)
    for payloads, fills, times, flush_s in batches:
        want = reference.fresh(payloads, fills, times)
        got = ours._fresh(dedupe_keys(payloads, fills), np.asarray(times, dtype=np.float64))
        assert got.tolist() == want
        if flush_s is not None:
            # By the newest time heard when the flush's clock is ahead of the traffic.
            reference.forget_before(min(flush_s, reference.latest_s) - window_s)
            ours.flush(flush_s)
        assert list(ours._recent.items()) == list(reference.recent.items())
        assert ours._recent.latest_s == reference.latest_s
        assert ours.stats.duplicates == reference.duplicates


def random_batches(rng: random.Random, pool: list[bytes]) -> list[Batch]:
    batches = []
    now = START_S
    for _ in range(rng.randint(1, 15)):
        size = rng.choice((0, 1, 2, 5, 50, 500, 3_000))
        spread = rng.choice((0.0, 1.0, 40.0, 200.0))
        choices = pool[: rng.choice((1, 3, 30, len(pool)))]
        payloads = [rng.choice(choices) for _ in range(size)]
        fills = [rng.choice((0, 0, 0, 2)) for _ in range(size)]
        times = [float(int(now + rng.uniform(-spread, spread))) for _ in range(size)]
        if size and rng.random() < 0.05:
            times[rng.randrange(size)] = rng.choice((math.nan, math.inf, -math.inf))
        flush_s = rng.choice((None, None, now, now + 100.0))
        batches.append((payloads, fills, times, flush_s))
        now += rng.choice((0.0, 1.0, 5.0, 40.0))
    return batches


POOL = [s.split(",")[5].encode() for s in corpus_sentences(3_000, seed=5)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(8))
def test_batches_are_deduplicated_exactly_as_message_by_message(
    seed: int, mode: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    window_s = rng.choice((30.0, 30.0, 5.0, 0.0, 1_000.0))
    cap = rng.choice((2_000_000, 2_000_000, 1_000, 50, 1))
    run_both(random_batches(rng, POOL), window_s, cap, monkeypatch, mode)


@pytest.mark.parametrize("mode", MODES)
def test_a_key_fresh_twice_in_one_batch_moves_to_its_last_place(
    mode: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = POOL[0], POOL[1]
    batch = ([a, b, a], [0, 0, 0], [START_S, START_S + 50, START_S + 100], None)
    run_both([batch], 30.0, 2_000_000, monkeypatch, mode)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(
                st.tuples(st.integers(0, 4), st.integers(0, 1), st.integers(-60, 60)), max_size=12
            ),
            st.sampled_from([None, 0, 45]),
        ),
        max_size=6,
    ),
    st.sampled_from([0.0, 10.0, 30.0]),
    st.sampled_from([1, 3, 2_000_000]),
    st.sampled_from(MODES),
)
def test_any_stream_is_deduplicated_exactly_as_message_by_message(
    steps: list[tuple[list[tuple[int, int, int]], int | None]],
    window_s: float,
    cap: int,
    mode: int,
) -> None:
    batches: list[Batch] = []
    for index, (messages, flush) in enumerate(steps):
        now = START_S + 20.0 * index
        batches.append(
            (
                [POOL[m] for m, _, _ in messages],
                [fill for _, fill, _ in messages],
                [now + offset for _, _, offset in messages],
                None if flush is None else now + flush,
            )
        )
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_both(batches, window_s, cap, monkeypatch, mode)


def test_duplicates_heard_by_other_receivers_are_dropped_end_to_end() -> None:
    lines = [s.encode() for s in corpus_sentences(2_000, seed=8)]
    ours = AisPipeline()
    first = ours.process(lines, "rx-a", START_S)
    outcomes = ("decode_error", "invalid_mmsi")
    messages = ours.stats.decoded + sum(ours.stats.rejected.get(r, 0) for r in outcomes)
    assert ours.stats.duplicates == 0
    again = ours.process(lines, "rx-b", START_S + 10.0)  # within the window: all duplicates
    assert again.num_rows == 0
    assert ours.stats.duplicates == messages
    later = ours.process(lines, "rx-c", START_S + 100.0)  # beyond it: all fresh again
    assert later.num_rows == first.num_rows > 0
    assert ours.stats.duplicates == messages


def test_a_flush_by_the_wall_clock_keeps_the_window_of_older_traffic() -> None:
    lines = [s.encode() for s in corpus_sentences(200, seed=9)]
    ours = AisPipeline()
    first = ours.process(lines, "rx-a", START_S)
    ours.flush(START_S + 365 * 86_400.0)  # last year's traffic from a file, flushed today
    assert ours.process(lines, "rx-b", START_S + 10.0).num_rows == 0  # within its window
    ours.flush(math.inf)  # the end of input forgets everything
    assert ours.process(lines, "rx-c", START_S + 10.0).num_rows == first.num_rows > 0


def test_keys_tell_apart_what_differs_and_only_that() -> None:
    """Equal payload and fill bits, equal key; any other difference, another key: lengths
    around the hash's eight-byte steps, a leading or trailing zero byte, the fill bits, one
    character anywhere."""
    base = [b"15M67FC000G?ufbE`FepT@3n00Sa"[:n] for n in range(0, 29)]
    variants = [
        *base,
        *(b"\x00" + p for p in base[1:9]),
        *(p + b"\x00" for p in base[1:9]),
        *(
            p[:k] + b"1" + p[k + 1 :]
            for p in base[-2:]
            for k in range(len(p))
            if p[k : k + 1] != b"1"
        ),
    ]
    payloads = [*variants, *variants]
    fills = [0] * len(variants) + [2] * len(variants)
    keys = dedupe_keys(payloads, fills).tolist()
    assert len(set(keys)) == len(keys)
    assert dedupe_keys(payloads, fills).tolist() == keys  # the same input, the same keys


def test_keys_of_many_distinct_payloads_do_not_collide() -> None:
    """200,000 random 28-character payloads: every key distinct, and spread evenly over
    the low bits the table of recent keys indexes by."""
    armour = np.frombuffer(
        b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw", np.uint8
    )
    chars = armour[np.random.default_rng(3).integers(0, 64, (200_000, 28))]
    distinct = sorted({row.tobytes() for row in chars})
    keys = dedupe_keys(distinct, [0] * len(distinct))
    assert len(np.unique(keys)) == len(distinct)
    per_slot = np.bincount(keys & 1023, minlength=1024)
    assert per_slot.max() < 2 * per_slot.mean()
