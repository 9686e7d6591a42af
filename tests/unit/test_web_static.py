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


# Each uses those before it. ops.js goes first of the command center's scripts: its parts add
# themselves to the JW.opsKit it makes, and reach one another through it once all have loaded.
OPS_SCRIPTS = [
    "ops.js",
    "ops-marking.js",
    "ops-incidents.js",
    "ops-incident.js",
    "ops-units.js",
    "ops-metrics.js",
]
CONSOLE_SCRIPTS = ["session.js", "sharing.js", *OPS_SCRIPTS, "app.js"]


def test_console_scripts_load_deferred_in_dependency_order() -> None:
    html = (STATIC / "index.html").read_text()
    tags = re.findall(r"<script[^>]*\bsrc=\"/static/([^\"]+)\"[^>]*>", html)
    ours = [t for t in tags if not t.startswith("vendor/")]
    assert ours == CONSOLE_SCRIPTS
    for tag in re.findall(r"<script[^>]*>", html):
        assert " defer" in tag, tag


def test_every_element_the_scripts_look_up_is_in_the_page() -> None:
    html = (STATIC / "index.html").read_text()
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    for name in CONSOLE_SCRIPTS:
        script = (STATIC / name).read_text()
        wanted = set(re.findall(r'(?:\$|getElementById)\("([^"]+)"\)', script))
        assert wanted, name
        assert not wanted - ids, f"{name} looks up missing ids {sorted(wanted - ids)}"


@pytest.mark.parametrize(
    "element_id",
    [
        "login-form",
        "login-user",
        "login-password",
        "login-error",
        "user-badge",
        "logout",
        "reports-panel",
        "reports-list",
        "report-form",
        "report-preview",
        "report-error",
        "sync-health",
    ],
)
def test_sign_in_and_sharing_elements_exist(element_id: str) -> None:
    html = (STATIC / "index.html").read_text()
    assert f'id="{element_id}"' in html


@pytest.mark.parametrize(
    "element_id",
    [
        "incidents-toggle",
        "incidents-panel",
        "incidents-list",
        "incidents-board",
        "incident-form",
        "incident-page",
        "incident-banner",
        "incident-state",
        "incident-timeline",
        "incident-log",
        "incident-log-form",
        "incident-units",
        "incident-suggest",
        "incident-actions",
        "incident-error",
        "incident-requests",
        "incident-request-form",
        "units-list",
        "unit-form",
        "metrics-toggle",
        "metrics-panel",
        "metrics-chart",
        "metrics-kind",
        "metrics-nation",
        "metrics-month",
        "metrics-csv",
    ],
)
def test_command_center_elements_exist(element_id: str) -> None:
    html = (STATIC / "index.html").read_text()
    assert f'id="{element_id}"' in html


def test_command_center_wiring() -> None:
    """ops.js gets the records sharing.js does not keep, app.js hands it the alerts list,
    the metrics panel links the CSV export, and the chart is drawn as SVG elements (checked
    across ops.js and its parts)."""
    sharing = (STATIC / "sharing.js").read_text()
    assert "opsRecords" in sharing
    app = (STATIC / "app.js").read_text()
    for hook in ("ops.alertButton(", "ops.start(", "ops.applyRecords", "openIncident"):
        assert hook in app, hook
    html = (STATIC / "index.html").read_text()
    assert 'href="/api/metrics/response-times.csv"' in html
    ops = "\n".join((STATIC / name).read_text() for name in OPS_SCRIPTS)
    assert "createElementNS" in ops
    assert 'setAttribute("style"' not in ops  # style-src 'self': no style attributes
    for action in ("acknowledge", "task", "on_scene", "release_unit", "resolve", "reopen"):
        assert f'"{action}"' in ops, action


def test_app_is_hidden_until_signed_in() -> None:
    """The page starts signed out of view: the sign-in screen is shown by script, and the
    stylesheet hides the app until session.js marks the body signed in."""
    html = (STATIC / "index.html").read_text()
    assert '<body data-auth="checking">' in html
    assert re.search(r'<section id="login-screen"[^>]*\bhidden\b', html)
    css = (STATIC / "app.css").read_text()
    assert 'body:not([data-auth="in"]) > .layout' in css
