"""The compiled builders of Arrow buffers (``ais.arrow_kernels``), against plain NumPy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jointwatch.ais import arrow_kernels
from jointwatch.ais.kernel_columns import _MASKS

lids = hnp.arrays(np.int8, st.integers(0, 70), elements=st.integers(-1, 9))
masks = st.one_of(
    st.just(_MASKS),
    hnp.arrays(np.int64, st.integers(1, 30), elements=st.integers(0, 2**10 - 1)),
)


@settings(max_examples=300, deadline=None)
@given(lids, masks)
def test_layout_bitmaps_are_the_packed_memberships(rows: np.ndarray, wanted: np.ndarray) -> None:
    bits, counts = arrow_kernels.layout_bitmaps(rows, wanted)
    assert bits.shape == (len(wanted), (len(rows) + 7) // 8)
    for j, mask in enumerate(wanted.tolist()):
        member = (rows >= 0) & (((mask >> np.maximum(rows, 0).astype(np.int64)) & 1) == 1)
        assert bits[j].tolist() == np.packbits(member, bitorder="little").tolist()
        assert counts[j] == int(member.sum())
