"""Browser tests: the system Chromium driven by Playwright against ``live_server``.

- Chromium is Debian's, at /usr/bin/chromium (no Playwright browser download).
- Screenshots of each step go to tests/browser/screenshots/ (git-ignored).
- axe-core comes from the npm registry at test time, cached in tests/browser/.axe/
  (git-ignored), and is injected only into contexts created with ``bypass_csp``:
  the app's own pages run under the strict CSP, which forbids injected scripts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make (fixtures, assertions on rows) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).parent
SCREENSHOTS = HERE / "screenshots"
AXE_DIR = HERE / ".axe"
AXE_PACKAGE = "axe-core@4.11"
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium).")
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}


@pytest.fixture
def sign_in(live_server):
    """``sign_in(page, "clerk")`` signs in through the login form."""

    def sign_in(page, username: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()

    return sign_in


@pytest.fixture
def shot(request):
    """``shot(page, "picker")`` saves <test name>-<n>-picker.png under screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)
    test_name = re.sub(r"[^\w]+", "_", request.node.name).strip("_")
    counter = iter(range(1, 1000))

    def shot(page, step: str) -> Path:
        path = SCREENSHOTS / f"{test_name}-{next(counter):02d}-{step}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return shot


@pytest.fixture
def csp_violations(page):
    """Console messages about the Content-Security-Policy; a test asserts it stays empty."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe.min.js from the npm registry, fetched once and cached."""
    script = AXE_DIR / "package" / "axe.min.js"
    if script.exists():
        return script
    AXE_DIR.mkdir(exist_ok=True)
    # pytest-xdist workers (.ci/run) may all get here first: one fetches, the rest wait.
    with exclusive(AXE_DIR / ".lock"):
        if not script.exists():
            _fetch_axe()
    return script


@contextlib.contextmanager
def exclusive(lock_path: Path):
    """Hold an exclusive lock on ``lock_path`` (other processes wait for it)."""
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fetch_axe() -> None:
    packed = (
        subprocess.run(
            ["npm", "pack", AXE_PACKAGE, "--silent", "--pack-destination", str(AXE_DIR)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with tarfile.open(AXE_DIR / packed) as archive:
        archive.extractall(AXE_DIR, filter="data")


@pytest.fixture
def axe(axe_script):
    """``axe(page, "screen name")``: the serious and critical violations on the page.

    ``enable`` names rules axe leaves off by default (its experimental ones, such as
    ``label-content-name-mismatch``) to run as well. Every result is also written to
    screenshots/axe-results.json for the record.
    """
    results_file = SCREENSHOTS / "axe-results.json"

    def run(page, screen: str, enable: tuple[str, ...] = ()) -> list[dict]:
        # Contrast is measured on what is painted: a modal's backdrop still fading in
        # reads as low contrast on a loaded machine. Wait for every finite animation
        # and transition to end (a spinner's infinite one never does).
        page.wait_for_function(
            """() => document.getAnimations().every(a => a.playState !== "running"
                || a.effect.getComputedTiming().iterations === Infinity)"""
        )
        page.add_script_tag(path=str(axe_script))
        violations = page.evaluate(
            """async (enable) => {
                const rules = Object.fromEntries(enable.map(id => [id, {enabled: true}]));
                const result = await axe.run(document, {resultTypes: ["violations"], rules});
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(" ")),
                }));
            }""",
            list(enable),
        )
        SCREENSHOTS.mkdir(exist_ok=True)
        # Several processes (xdist workers, SQLite and PostgreSQL runs, other
        # sessions) may record at once: each updates the file under a lock, and
        # replaces it atomically so a reader never sees half of it.
        with exclusive(SCREENSHOTS / ".axe-results.lock"):
            try:
                recorded = json.loads(results_file.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                recorded = {}
            recorded[screen] = violations
            partial = results_file.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(recorded, indent=2, sort_keys=True))
            partial.replace(results_file)
        return [v for v in violations if v["impact"] in ("serious", "critical")]

    return run
