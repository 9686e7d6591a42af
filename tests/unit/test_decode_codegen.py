"""The generated field code in ``decode_kernels`` must be what ``decode_codegen`` writes now
from the layouts: a layout edited without regenerating would decode with the old bits."""

from __future__ import annotations

from pathlib import Path

import pytest

from jointwatch.ais import decode_codegen


def _region(text: str, begin: str, end: str) -> str:
    return begin + text.partition(begin)[2].partition(end)[0] + end


def test_committed_kernel_matches_the_generator() -> None:
    text = decode_codegen.kernel_path().read_text()
    hint = "run `python -m jointwatch.ais.decode_codegen` to regenerate decode_kernels.py"
    fields = _region(text, decode_codegen.FIELDS_BEGIN, decode_codegen.FIELDS_END)
    assert fields == decode_codegen.generate_fields(), hint
    tables = _region(text, decode_codegen.BEGIN, decode_codegen.END)
    assert tables == decode_codegen.generate(), hint


def _kernel_text(inner: str, outer: str) -> str:
    return (
        f"head\n{decode_codegen.FIELDS_BEGIN}{inner}\n{decode_codegen.FIELDS_END}"
        f"middle\n{decode_codegen.BEGIN}{outer}\n{decode_codegen.END}tail\n"
    )


def test_rewrite_replaces_only_the_marked_regions(tmp_path: Path) -> None:
    target = tmp_path / "kernel.py"
    target.write_text(_kernel_text("stale fields", "stale tables"))
    assert decode_codegen.rewrite(target) is True
    text = target.read_text()
    assert text.startswith("head\n") and text.endswith("tail\n") and "\nmiddle\n" in text
    assert "stale" not in text
    assert decode_codegen.generate_fields() in text and decode_codegen.generate() in text
    assert decode_codegen.rewrite(target) is False  # already current


@pytest.mark.parametrize("missing", ["fields", "tables"])
def test_rewrite_refuses_a_file_without_markers(tmp_path: Path, missing: str) -> None:
    target = tmp_path / "kernel.py"
    text = _kernel_text("x", "y")
    if missing == "fields":
        text = text.replace(decode_codegen.FIELDS_END, "")
    else:
        text = text.replace(decode_codegen.BEGIN, "")
    target.write_text(text)
    with pytest.raises(ValueError, match="markers"):
        decode_codegen.rewrite(target)
    assert target.read_text() == text  # left as it was


def test_every_field_of_every_layout_is_cut_once_in_its_branch() -> None:
    from jointwatch.ais import kernel_columns

    region = decode_codegen.generate_fields().removesuffix(decode_codegen.FIELDS_END)
    branches = region.split(" lid == ")[1:]
    assert len(branches) == len(kernel_columns._LAYOUTS)
    for branch, layout in zip(branches, kernel_columns._LAYOUTS, strict=True):
        named = [line.rsplit("# ", 1)[1] for line in branch.splitlines()[1:] if "  # " in line]
        assert named == [field.name for field in layout]
