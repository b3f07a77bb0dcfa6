"""The outreach dashboard in a real browser: ``na64tools dashboard`` (Voilà) on 127.0.0.1, driven
by headless Debian Chromium through Playwright (no browser download: ``executable_path``).

Loads the page, moves the p_out slider (typing into its readout, as a visitor can), checks that
the displayed signal efficiency and background change the right way and that the figure follows,
that every request goes to 127.0.0.1, that the page has a title and the sliders accessible names,
that numbers and figure are on screen at 390x844 (a phone) and 1280x720 (screenshots under the
test's temporary directory), and that 10 visits leave no kernel behind (the page shuts its kernel
down when closed). The server is always stopped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, missing, wait_http
from _browser import free_port as _free_port
from _process import stop_group

pytestmark = pytest.mark.browser

def _missing() -> str | None:
    return missing(("voila", "dashboard"))


def _numbers(page) -> tuple[float, float]:
    eff = page.inner_text(".na64-eff")
    bkg = page.inner_text(".na64-bkg")
    e = float(re.search(r":\s*([0-9.]+)\s*%", eff).group(1))
    b = float(re.search(r":\s*([0-9.eE+-]+)\s*±", bkg).group(1))
    return e, b


def _kernels(proc: subprocess.Popen) -> list:
    """The kernel processes under the server we started."""
    import psutil

    out = []
    for c in psutil.Process(proc.pid).children(recursive=True):
        try:
            if c.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(c.cmdline()):
                out.append(c)
        except psutil.Error:  # ended meanwhile
            pass
    return out


def _wait_kernels(proc, n: int, timeout: float) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        k = len(_kernels(proc))
        if k <= n:
            return k
        time.sleep(0.5)
    return len(_kernels(proc))


def _smallest_figure_font_px(page) -> float:
    """The smallest font-size of the SVG panels in screen pixels (user units x scale)."""
    return page.evaluate("""() => Math.min(...[...document.querySelectorAll('.na64-panel svg')].map(svg => {
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return Math.min(...[...svg.querySelectorAll('text')].map(
            t => parseFloat(t.getAttribute('font-size')) * scale));
    }))""")


def _leave(page) -> None:
    """The visitor leaves: the page's beforeunload sends the kernel shutdown (a navigation
    delivers it; a headless tab closed at once may drop it, the culler then ends the kernel)."""
    page.goto("about:blank")
    page.close()


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
        wait_http(url, proc, timeout=120, what="the dashboard server")
        # a page fetched without a browser (the probe above, like a curl) leaves a kernel that
        # nothing closes: the idle culler ends it (60 s idle, checked every 15 s)
        assert _wait_kernels(proc, 0, 120) == 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                requests = []
                page.on("request", lambda r: requests.append(r.url))
                page.goto(url, timeout=120_000)
                page.wait_for_selector(".na64-summary", timeout=120_000)
                page.wait_for_selector(".na64-panel-pout svg", timeout=60_000)
                assert "NA64" in page.title() and page.title() != "dashboard"
                eff0, bkg0 = _numbers(page)
                assert eff0 > 0 and bkg0 > 0
                assert "Expected (median)" in page.inner_text(".na64-summary")
                assert "Observed limit" in page.inner_text(".na64-summary")  # published cuts
                handle = page.locator(".na64-slider-p_out_max [role=slider]")
                page.wait_for_function("() => document.querySelector("
                                       "'.na64-slider-p_out_max [role=slider]').getAttribute('aria-label')")
                assert handle.get_attribute("aria-label") == "Muon out: energy"
                assert len(handle.get_attribute("aria-description")) > 30
                assert page.locator(".na64-panel-limit svg[role=img]").get_attribute("aria-label")
                # the smallest text of the figure is at least 12 px on screen
                assert _smallest_figure_font_px(page) >= 12
                pout0 = page.inner_html(".na64-panel-pout")
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
                page.wait_for_function("() => document.querySelector('.na64-panel-pout').innerHTML"
                                       ".includes('keep p_out &lt; 50 GeV')", timeout=60_000)
                assert page.inner_html(".na64-panel-pout") != pout0
                assert "Observed limit with" not in page.inner_text(".na64-summary")
                page.screenshot(path=os.fspath(tmp_path / "dashboard_1280x720.png"))
                # every request went to this server: nothing from a CDN
                outside = [u for u in requests if not u.startswith(f"http://127.0.0.1:{port}/")
                           and not u.startswith("data:")]
                assert outside == [], outside
                _leave(page)

                # a phone: numbers and figure are laid out on screen (width > 0, inside 390 px)
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                phone.goto(url, timeout=120_000)
                phone.wait_for_selector(".na64-panel-limit svg", timeout=120_000)
                for sel in (".na64-summary", ".na64-panel-limit", ".na64-panel-pout",
                            ".na64-slider-p_out_max", ".na64-cutflow"):
                    box = phone.locator(sel).first.bounding_box()
                    assert box and box["width"] > 250 and box["x"] >= 0, (sel, box)
                    assert box["x"] + min(box["width"], 390) <= 390 + 1, (sel, box)
                assert _smallest_figure_font_px(phone) >= 12
                phone.screenshot(path=os.fspath(tmp_path / "dashboard_390x844.png"))
                phone.locator(".na64-panel-limit").scroll_into_view_if_needed()
                phone.screenshot(path=os.fspath(tmp_path / "dashboard_390x844_figure.png"))
                _leave(phone)
                assert _wait_kernels(proc, 0, 30) == 0  # the page shut its kernel down

                # 10 visits, each page closed: no kernel outlives its page
                import psutil

                rss0 = psutil.Process(proc.pid).memory_info().rss
                for _ in range(10):
                    p = browser.new_page(viewport={"width": 1280, "height": 720})
                    p.goto(url, timeout=120_000)
                    p.wait_for_selector(".na64-summary", timeout=120_000)
                    _leave(p)
                left = _wait_kernels(proc, 0, 30)  # well before the culler (60 s idle)
                assert left == 0, f"{left} kernels left after 10 closed visits"
                rss1 = psutil.Process(proc.pid).memory_info().rss
                assert rss1 < rss0 + 150e6, (rss0, rss1)  # the server itself does not grow per visit
            finally:
                browser.close()
    finally:
        stop_group(proc, log)  # the server and its kernels: the group we started
