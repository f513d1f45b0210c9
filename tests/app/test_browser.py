"""The app in a real browser: ``lmlm app`` on a loopback port, driven by Playwright through Debian's
headless Chromium (never a downloaded browser). A fact is edited in the table as a user does; the
test waits on the page for the regenerated output, checks that hostile names show as text, and
saves a screenshot (``$LMLM_TEST_ARTIFACTS`` or the test's tmp dir).

``.ci/run`` installs ``chromium`` with apt. Without it the test fails and says so; it never skips.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from lmlm.kg import KnowledgeGraph, Triple
from lmlm.kg.limits import MAX_ENTITY_CHARS
from tests.app.conftest import HOSTILE

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = int(os.environ.get("LMLM_TEST_BROWSER_WAIT_MS", 240_000))  # a decode on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(app_config, tmp_path):
    """``lmlm app`` on a copy of the demo store with hostile names added; yields its URL."""
    with KnowledgeGraph.open(app_config.store) as kg:
        kg.import_triples([Triple(name, "Occupation", HOSTILE[2]) for name in HOSTILE[:2]])
        long_name = "Long " + "x" * (MAX_ENTITY_CHARS - 5)  # the longest name the store takes
        kg.import_triples([Triple(long_name, "Occupation", "😀" * 50)])
    port = _free_port()
    argv = [sys.executable, "-m", "lmlm.cli", "app", "--port", str(port), "--no-browser"]
    for name in ("store", "model", "standard_model", "prompts"):
        argv += [f"--{name.replace('_', '-')}", getattr(app_config, name)]
    log = tmp_path / "app.log"
    env = {**os.environ, "LMLM_HOME": str(tmp_path / "home")}
    with log.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}", proc, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the app's own process group: lmlm became streamlit
        proc.wait(timeout=30)


def _wait_until_serving(url: str, proc, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lmlm app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)  # polling the health endpoint until the server answers
    pytest.fail(f"lmlm app did not answer on {url}:\n{log.read_text()[-3000:]}")


def _browser(playwright, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)")
    profile = tmp_path / "profile"
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=FLAGS,
        headless=True,
        viewport={"width": 1400, "height": 1000},
    )


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LMLM_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _go_to(page, title: str, ready) -> None:
    """Open the page ``title`` from the sidebar once the app is idle; until ``ready`` shows, click
    again (a click that lands while a script run ends can be dropped)."""
    for _ in range(5):
        expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()  # no script running
        page.get_by_role("link", name=title).click()
        try:
            expect(ready).to_be_visible(timeout=20_000)
            return
        except AssertionError:
            continue
    expect(ready).to_be_visible()


def _live(page):
    """The element containers of the current script run: Streamlit keeps the last run's elements,
    marked stale, until the new run replaces them, so a label can briefly match two widgets."""
    return page.locator('[data-testid="stElementContainer"]:not([data-stale="true"])')


def _open_entity(page, name: str) -> None:
    """Facts page: search the name and open it from the results (the results' selectbox of the
    last search shows until the new one replaces it, so pick the option by its text, again if need be)."""
    search = _live(page).get_by_label("Search entities")
    _go_to(page, "Facts", search)
    heading = page.locator("h2", has_text=name[:40])
    for _ in range(5):
        expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
        expect(search).to_have_count(1)
        search.fill(name[:40])
        search.press("Enter")
        expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
        _live(page).get_by_role("combobox", name=re.compile(r"^\d+ found")).click()
        try:
            page.get_by_role("option").filter(has_text=name[:40]).first.click(timeout=20_000)
            expect(heading).to_be_visible(timeout=20_000)
            return
        except (AssertionError, PlaywrightTimeout):
            page.keyboard.press("Escape")
    expect(heading).to_be_visible()


def _edit_cell(page, relation: str, old_value: str, value: str) -> None:
    """Facts table: set the value of ``relation``'s row as a user does (select, Enter, type, Enter).

    The editor must open on ``old_value``: a key pressed before the grid took the click's selection
    once opened the relation's cell instead (on a slower machine), and typing there renamed the
    relation. Then the editor is closed unchanged and the selection made again."""
    grid = page.locator('[data-testid="stDataFrameResizable"]').first
    page.locator("#glide-cell-0-0").wait_for(state="attached")  # the grid's accessible copy of its cells
    cells = page.locator('[id^="glide-cell-0-"]')
    names = [cells.nth(i).inner_text() for i in range(cells.count())]
    row = names.index(relation)
    box = grid.bounding_box()
    header, height = 36, 35  # the grid's header and row heights, in CSS pixels
    editor = page.locator('[id^="gdg-overlay-"] textarea, [id^="gdg-overlay-"] input').first
    opened = []
    for _ in range(3):
        page.mouse.click(box["x"] + 20, box["y"] + header + height * row + height / 2)  # the relation cell
        page.wait_for_timeout(300)
        page.keyboard.press("ArrowRight")  # its value
        page.keyboard.press("Enter")  # opens the cell's editor
        editor.wait_for()
        opened.append(editor.input_value())
        if opened[-1] == old_value:
            editor.fill(value)
            editor.press("Enter")
            return
        editor.press("Escape")
        page.wait_for_timeout(300)
    raise AssertionError(f"the editor opened on {opened}, never on {relation}'s value {old_value!r}")


@pytest.mark.slow
def test_edit_a_fact_in_the_browser_and_see_the_output_regenerate(served, app_config, edit_case, tmp_path):
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=WAIT_MS)
    url, proc, log = served
    _wait_until_serving(url, proc, log)
    shots = _artifacts(tmp_path)
    with sync_playwright() as playwright:
        context = _browser(playwright, tmp_path)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(WAIT_MS)
        dialogs: list[str] = []  # an alert() that ran would land here
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.goto(url)
            prompts = page.get_by_label("Your prompts, one per line")
            prompts.fill(edit_case.prompt)
            prompts.press("Control+Enter")  # a text area sends its value on Ctrl+Enter or blur
            page.get_by_role("button", name="Generate").click()
            old_hover = f"{edit_case.entity} | {edit_case.relation} = {edit_case.old_value} (exact"
            expect(page.locator(f'a[title*="{old_hover}"]').first).to_be_visible()

            _open_entity(page, edit_case.entity)
            expect(page.locator("h2", has_text=edit_case.entity)).to_be_visible()
            _edit_cell(page, edit_case.relation, edit_case.old_value, edit_case.new_value)
            save = page.get_by_role("button", name="Save changes")
            expect(save).to_be_enabled()  # the edit reached the server
            save.click()
            new_hover = f"{edit_case.entity} | {edit_case.relation} = {edit_case.new_value} (exact"
            expect(page.locator(f'a[title*="{new_hover}"]').first).to_be_visible()  # the regenerated output
            expect(page.get_by_text("Regenerated after:")).to_be_visible()
            page.screenshot(path=str(shots / "app-regenerated.png"), full_page=True)

            for name in HOSTILE[:2]:
                _open_entity(page, name)
                expect(page.locator("h2", has_text=name)).to_be_visible()  # the name, as text
            assert page.locator("img[src='x']").count() == 0
            assert page.locator("script", has_text="alert").count() == 0
            assert dialogs == []
            page.screenshot(path=str(shots / "app-hostile-names.png"), full_page=True)
        except Exception:  # a failed expect or a locator that timed out: the page as it was
            page.screenshot(path=str(shots / "app-failed.png"), full_page=True)
            raise
        finally:
            context.close()
    with KnowledgeGraph.open(app_config.store) as kg:
        assert [f.value for f in kg.store.lookup(edit_case.entity, edit_case.relation)] == [
            edit_case.new_value
        ]
    assert re.search(r"LMLM app: http://127\.0\.0\.1:\d+", log.read_text())
