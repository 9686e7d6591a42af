"""The generated field code in ``decode_kernels`` must be what ``decode_codegen`` writes now
from the layouts: a layout edited without regenerating would decode with the old bits."""

from __future__ import annotations

from pathlib import Path

import pytest

from jointwatch.ais import decode_codegen


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
