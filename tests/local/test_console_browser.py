"""The web console in real headless browsers against the running local system: the system's
chromium (driven over the DevTools protocol, cdp.py) and firefox (over WebDriver BiDi, bidi.py),
each skipped when absent (failed with CI=true). Submit -> image shown -> U1 -> upscale shown ->
Custom Zoom through the modal -> result shown; an account re-enabled from the accounts page;
a phone width without horizontal scrolling and with the controls reachable by Tab.
Screenshots go to artifacts/console/<browser>/ (git-ignored; CI keeps them as artefacts)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mjclient import Client

from .bidi import FirefoxBrowser
from .cdp import Browser
from .driver import Driver, find_browser

ROOT = Path(__file__).resolve().parents[2]
DRIVERS: dict[str, type[Driver]] = {"chromium": Browser, "firefox": FirefoxBrowser}
INSTALL = {"chromium": "apt-get install chromium", "firefox": "apt-get install firefox-esr"}
IMAGE_SHOWN = (
    "(() => { const i = document.getElementById('task-image');"
    " return !document.getElementById('task-figure').hidden && i.complete && i.naturalWidth > 0"
    " && document.getElementById('task-status').textContent === 'SUCCESS'"
    " && document.getElementById('task-action').textContent === %r; })()"
)
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module", params=sorted(DRIVERS))
def browser(request):
    kind = request.param
    binary = find_browser(kind)
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no {kind} found (.ci/run installs it with apt)")
        pytest.skip(f"no {kind} on this machine ({INSTALL[kind]}); CI runs it")
    b = DRIVERS[kind](binary)
    yield b
    b.close()


def shot(browser: Driver, name: str) -> Path:
    return ROOT / "artifacts" / "console" / browser.kind / name


def shown(action: str) -> str:
    return IMAGE_SHOWN % action


def test_submit_then_u1_shows_the_grid_and_the_upscale(browser, local_system):
    browser.viewport(1280, 1000)
    browser.navigate(local_system.url + "/console")
    browser.type("#prompt", "a red fox in snow")
    browser.evaluate("document.getElementById('p-ar').value = '3:2'")
    browser.evaluate("document.getElementById('imagine-form').dispatchEvent(new Event('input'))")
    assert browser.evaluate("document.getElementById('prompt-preview').textContent") == (
        "a red fox in snow --ar 3:2"
    )
    browser.click("#submit")
    browser.wait_for("document.getElementById('task-status').textContent !== ''", 30, "a status")
    browser.wait_for(shown("IMAGINE"), 90, "the grid")
    grid = browser.evaluate(
        "[...document.querySelectorAll('#task-buttons button')].map(b => b.dataset.label)"
    )
    assert {"U1", "U2", "U3", "U4", "V1"} <= set(grid)
    # --ar 3:2 reached the generator and the page shows the picture in that shape
    assert browser.evaluate(
        "(() => { const i = document.getElementById('task-image'); return i.naturalWidth > i.naturalHeight; })()"
    )
    assert (
        browser.evaluate("document.getElementById('task-progress').getAttribute('aria-valuenow')")
        == "100"
    )
    browser.screenshot(shot(browser, "01-grid.png"))

    browser.click('#task-buttons button[data-label="U1"]')
    browser.wait_for(shown("UPSCALE"), 90, "the upscale")
    browser.screenshot(shot(browser, "02-upscale.png"))
    assert not browser.console, browser.console  # no script errors along the way


def test_custom_zoom_goes_through_the_modal_dialog(browser, local_system):
    with Client(local_system.url) as client:
        grid = client.wait(client.imagine("a lighthouse at dusk").task_id, timeout=90)
        upscale = client.wait(client.press(grid, "U1").task_id, timeout=90)
    assert upscale.button("Custom Zoom") is not None, [b.label for b in upscale.buttons]
    browser.viewport(1280, 1000)
    browser.navigate(f"{local_system.url}/console#/task/{upscale.id}")
    browser.wait_for(shown("UPSCALE"), 60, "the upscale")
    browser.click('#task-buttons button[data-label="Custom Zoom"]')
    browser.wait_for("document.getElementById('modal-dialog').open", 30, "the modal dialog")
    assert "--zoom" in browser.evaluate("document.getElementById('modal-prompt').value")
    browser.type("#modal-prompt", "a lighthouse at dusk --zoom 1.5")
    browser.screenshot(shot(browser, "03-custom-zoom-dialog.png"), full_page=False)
    browser.click("#modal-submit")
    browser.wait_for(
        "(() => { const a = document.getElementById('task-action').textContent;"
        " const i = document.getElementById('task-image');"
        " return a !== 'UPSCALE' && document.getElementById('task-status').textContent === 'SUCCESS'"
        " && i.complete && i.naturalWidth > 0; })()",
        90,
        "the zoomed result",
    )
    browser.screenshot(shot(browser, "04-custom-zoom-result.png"))


def test_history_gallery_and_accounts_at_phone_width(browser, local_system):
    browser.viewport(390, 844, mobile=True)
    browser.navigate(local_system.url + "/console#/history")
    browser.wait_for("document.querySelectorAll('#gallery li').length > 0", 30, "gallery cards")
    browser.evaluate("document.getElementById('f-action').value = 'UPSCALE'")
    browser.evaluate("document.getElementById('f-action').dispatchEvent(new Event('change'))")
    actions = browser.evaluate(
        "[...document.querySelectorAll('#gallery .meta .badge:nth-child(2)')].map(b => b.textContent)"
    )
    assert actions and set(actions) == {"UPSCALE"}
    # nothing wider than the phone: no horizontal scrolling
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    browser.screenshot(shot(browser, "05-history-phone.png"), full_page=False)
    browser.navigate(local_system.url + "/console#/accounts")
    browser.wait_for("document.querySelectorAll('#accounts-body tr').length > 0", 30, "accounts")
    row = browser.evaluate("document.querySelector('#accounts-body tr').innerText")
    assert "local-1" in row and "local" in row and "enabled" in row
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    browser.screenshot(shot(browser, "06-accounts-phone.png"), full_page=False)


# The create page's controls in reading order: what a keyboard user must reach by Tab.
CREATE_CONTROLS = [
    "a[#/history]", "a[#/accounts]", "button#secret-open", "textarea#prompt", "select#p-ar",
    "select#p-v", "input#p-s", "input#p-c", "input#p-no", "input#p-seed", "select#p-mode",
    "button#submit", "div#drop", "select#blend-dims",
]  # fmt: skip


def test_at_phone_width_nothing_overflows_and_tab_reaches_every_control(browser, local_system):
    with Client(local_system.url) as client:
        grid = client.wait(client.imagine("a kite over dunes --ar 16:9").task_id, timeout=90)
    browser.viewport(390, 844, mobile=True)
    browser.navigate(local_system.url + "/console")
    assert browser.evaluate("window.innerWidth") == 390
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    order = browser.tab_order()
    assert [c for c in order if c in CREATE_CONTROLS] == CREATE_CONTROLS, order
    # A result at that width: the wide image fits, and its buttons take the keyboard too.
    browser.navigate(f"{local_system.url}/console#/task/{grid.id}")
    browser.wait_for(shown("IMAGINE"), 60, "the grid")
    assert browser.evaluate(NO_SIDEWAYS_SCROLL)
    order = browser.tab_order(120)
    wanted = ["button[U1]", "button[U4]", "button[V1]", "button#task-copy"]
    assert all(w in order for w in wanted), order
    browser.screenshot(shot(browser, "09-task-phone.png"), full_page=False)


def test_an_operator_re_enables_a_disabled_account_from_the_keyboard(
    browser, accounts_system, disable_mj_account
):
    browser.viewport(1280, 1000)
    browser.navigate(accounts_system.url + "/console#/accounts")
    enable = "document.querySelector('#accounts-body button[data-account=\"mj-1\"]')"
    browser.wait_for(f"{enable} !== null", 30, "mj-1's Enable button")
    rows = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#accounts-body tr')]"
        ".map(r => [r.dataset.account, r.innerText]))"
    )
    assert disable_mj_account in rows["mj-1"]
    assert "configuration" in rows["off-1"] and "Enable" not in rows["off-1"]
    assert "Enable" not in rows["local-1"]
    browser.screenshot(shot(browser, "10-accounts-disabled.png"))
    # Reach the button with Tab, as a keyboard user does, then activate it.
    browser.tab_to("button[mj-1]")
    browser.activate()
    browser.wait_for(
        "(() => { const r = document.querySelector('#accounts-body tr[data-account=\"mj-1\"]');"
        " return r && !r.querySelector('button')"
        " && r.querySelector('td[data-label=\"State\"]').textContent === 'enabled'; })()",
        30,
        "mj-1 enabled on the page",
    )
    assert "mj-1 enabled" in browser.evaluate("document.getElementById('toast').innerText")
    browser.screenshot(shot(browser, "11-accounts-enabled.png"))
    with Client(accounts_system.url) as client:
        (mj,) = [a for a in client.accounts() if a["id"] == "mj-1"]
    assert mj["enable"] is True


def test_the_page_loads_nothing_from_the_internet(browser, local_system):
    browser.viewport(1280, 1000)
    browser.navigate(local_system.url + "/console#/history")
    browser.wait_for("document.querySelectorAll('#gallery li').length > 0", 30, "gallery cards")
    hosts = browser.evaluate(
        "[...new Set(performance.getEntriesByType('resource').map(e => new URL(e.name).hostname))]"
    )
    assert set(hosts) <= {"127.0.0.1", "localhost"}, hosts


def test_the_secret_is_asked_for_once_and_kept_in_the_browser(browser):
    from .conftest import Running

    system = Running({"MJ_API_SECRET": "s3cret-console", "MJ_LOCAL_STEP_SECONDS": "1"})
    try:
        browser.viewport(1280, 1000)
        browser.navigate(system.url + "/console#/accounts")
        # The API answers 401, so the page opens the secret dialog by itself.
        browser.wait_for("document.getElementById('secret-dialog').open", 30, "the secret dialog")
        browser.type("#secret-input", "s3cret-console")
        browser.click("#secret-save")
        browser.wait_for(
            "document.querySelectorAll('#accounts-body tr').length > 0", 30, "accounts"
        )
        assert browser.evaluate("localStorage.getItem('mjproxy.secret')") == "s3cret-console"
        browser.navigate(system.url + "/console#/accounts")  # a new page load: no dialog again
        browser.wait_for(
            "document.querySelectorAll('#accounts-body tr').length > 0", 30, "accounts"
        )
        assert not browser.evaluate("document.getElementById('secret-dialog').open")
    finally:
        browser.evaluate("localStorage.removeItem('mjproxy.secret')")
        system.stop()


def test_describe_and_blend_from_chosen_files(browser, local_system, tmp_path):
    from PIL import Image

    for name, color in (("a.png", (200, 40, 40)), ("b.png", (30, 60, 160))):
        Image.new("RGB", (96, 64), color).save(tmp_path / name)
    browser.viewport(1280, 1000)
    browser.navigate(local_system.url + "/console")
    browser.set_files("#file-input", [tmp_path / "a.png"])
    browser.wait_for(
        "document.getElementById('task-action').textContent === 'DESCRIBE'"
        " && !document.getElementById('task-describe').hidden",
        90,
        "the describe prompts",
    )
    prompts = browser.evaluate("document.getElementById('task-describe').textContent")
    assert "1️⃣" in prompts and "4️⃣" in prompts
    browser.screenshot(shot(browser, "07-describe.png"))
    browser.evaluate("document.getElementById('blend-dims').value = 'LANDSCAPE'")
    browser.set_files("#file-input", [tmp_path / "a.png", tmp_path / "b.png"])
    browser.wait_for(shown("BLEND"), 90, "the blend")
    assert browser.evaluate(
        "(() => { const i = document.getElementById('task-image'); return i.naturalWidth > i.naturalHeight; })()"
    )
    browser.screenshot(shot(browser, "08-blend.png"))
