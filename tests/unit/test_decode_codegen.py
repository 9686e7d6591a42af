"""The generated field code in ``decode_kernels`` must be what ``decode_codegen`` writes now
from the layouts: a layout edited without regenerating would decode with the old bits."""

from __future__ import annotations

from pathlib import Path

import pytest

from jointwatch.ais import decode_codegen
from jointwatch.ais.layouts import Field


def test_committed_kernel_matches_the_generator() -> None:
    text = decode_codegen.kernel_path().read_text()
    region = decode_codegen.BEGIN + text.partition(decode_codegen.BEGIN)[2]
    region = region.partition(decode_codegen.END)[0] + decode_codegen.END
    assert region == decode_codegen.generate(), (
        "run `python -m jointwatch.ais.decode_codegen` to regenerate decode_kernels.py"
    )


def test_rewrite_replaces_only_the_marked_region(tmp_path: Path) -> None:
    target = tmp_path / "kernel.py"
    target.write_text(f"head\n{decode_codegen.BEGIN}stale\n{decode_codegen.END}tail\n")
    assert decode_codegen.rewrite(target) is True
    text = target.read_text()
    assert text.startswith("head\n") and text.endswith("tail\n")
    assert "stale" not in text and decode_codegen.generate() in text
    assert decode_codegen.rewrite(target) is False  # already current


def test_rewrite_refuses_a_file_without_markers(tmp_path: Path) -> None:
    target = tmp_path / "kernel.py"
    target.write_text("no markers here\n")
    with pytest.raises(ValueError, match="markers"):
        decode_codegen.rewrite(target)


def test_runs_that_layouts_share_are_cut_alike_in_each() -> None:
    # Layout b holds a's last three fields 100 bits later; layout c holds only the first two
    # of those, 50 bits later.
    head = [Field("msg_type", 0, 6, "u"), Field("repeat", 6, 2, "u")]
    run = [
        Field("status", 38, 4, "status"),
        Field("turn", 42, 8, "turn"),
        Field("speed", 50, 10, "tenth"),
    ]
    a = [*head, *run]
    b = [Field("msg_type", 0, 6, "u"), *[f._replace(start=f.start + 100) for f in run]]
    c = [Field("epfd", 0, 9, "u"), *[f._replace(start=f.start + 50) for f in run[:2]]]
    parts = decode_codegen._parts([a, b, c])
    shapes = [
        {decode_codegen._shape(rows[i:end]) for i, end in cut}
        for rows, cut in zip([a, b, c], parts, strict=True)
    ]
    # c's two fields are one part, the same in a and b; a's and b's third field is a part.
    shared = decode_codegen._shape(run[:2])
    assert all(shared in found for found in shapes)
    assert decode_codegen._shape(run[2:]) in shapes[0] & shapes[1]
    assert decode_codegen._shape(head) in shapes[0]  # a's header: shared with nobody whole
