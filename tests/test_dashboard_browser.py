"""The outreach dashboard in a real browser: ``na64tools dashboard`` (Voilà) on 127.0.0.1, driven
by headless Debian Chromium through Playwright (no browser download: ``executable_path``).

Loads the page, moves the p_out slider (typing into its readout, as a visitor can), checks that
the displayed signal efficiency and background change the right way, and saves a screenshot
under the test's temporary directory. The server is always stopped.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"Debian's Chromium is not installed ({CHROMIUM}): apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install 'na64tools[dashboard]'"
    try:
        import voila  # noqa: F401
    except ImportError:
        return "voila is not installed: pip install 'na64tools[dashboard]'"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the dashboard server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"the dashboard did not answer on {url} within {timeout:g} s")


def _numbers(page) -> tuple[float, float]:
    eff = page.inner_text(".na64-eff")
    bkg = page.inner_text(".na64-bkg")
    e = float(re.search(r":\s*([0-9.]+)\s*%", eff).group(1))
    b = float(re.search(r":\s*([0-9.eE+-]+)\s*±", bkg).group(1))
    return e, b


def test_dashboard_in_headless_chromium(small_output, tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    from na64tools.output import save_output

    data = tmp_path / "data"
    data.mkdir()
    save_output(small_output, data / "output")  # the dashboard uses it as it is
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "na64tools", "dashboard", "--port", str(port), "--no-browser",
         "--data", os.fspath(data)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, proc, timeout=120)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 2600})
                page.goto(url, timeout=120_000)
                page.wait_for_selector(".na64-summary", timeout=120_000)
                eff0, bkg0 = _numbers(page)
                assert eff0 > 0 and bkg0 > 0
                figure = page.locator(".na64-figure")
                src0 = figure.get_attribute("src")
                readout = page.locator(".na64-slider-p_out_max .widget-readout")
                assert readout.inner_text().strip().startswith("80")
                # move the slider: type a new value into its readout and press Enter
                readout.click()
                page.keyboard.press("Control+A")
                page.keyboard.type("50")
                page.keyboard.press("Enter")
                page.wait_for_function(
                    "old => !document.querySelector('.na64-eff').innerText.includes(old)",
                    arg=f"{eff0:.1f} %", timeout=60_000)
                eff1, bkg1 = _numbers(page)
                assert readout.inner_text().strip().startswith("50")
                assert eff1 < eff0, (eff0, eff1)  # p_out < 50 GeV keeps less signal ...
                assert bkg1 < bkg0, (bkg0, bkg1)  # ... and less background
                assert not page.locator(".na64-error").count()
                # the figure follows the numbers (drawn after them)
                page.wait_for_function("old => document.querySelector('.na64-figure').src != old",
                                       arg=src0, timeout=60_000)
                shot = tmp_path / "dashboard.png"
                page.screenshot(path=os.fspath(shot), full_page=True)
                assert shot.stat().st_size > 10_000
            finally:
                browser.close()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels: the group we started
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
