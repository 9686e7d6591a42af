"""The console's static files keep the rules of SECURITY.md: no inline code, no remote URLs,
no HTML built from strings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "jointwatch" / "web" / "static"


def test_index_has_no_inline_script_or_style_and_no_remote_urls() -> None:
    html = (STATIC / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\bon[a-z]+=", html), "inline event handler"
    assert not re.search(r"https?://", html), "remote URL in the console"


@pytest.mark.parametrize(
    "pattern",
    ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"],
)
def test_console_script_never_builds_html_from_strings(pattern: str) -> None:
    for script in STATIC.glob("*.js"):
        assert pattern not in script.read_text(), f"{pattern} in {script.name}"


def test_every_static_file_the_page_references_exists() -> None:
    html = (STATIC / "index.html").read_text()
    paths = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert paths
    vendor_built = (STATIC / "vendor" / ".stamp").exists()
    for rel in paths:
        if rel.startswith("vendor/") and not vendor_built:
            pytest.skip("vendor/ not built; run `make web` (make test does it first)")
        assert (STATIC / rel).is_file(), rel
