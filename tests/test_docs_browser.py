"""The built documentation site in a real browser, offline: routing, both widths, formulas.

Builds the site (``sphinx-build -b html docs``, the notebooks from the build cache) and opens its
pages from disk (``file://``) in headless Debian Chromium through Playwright (no browser
download: ``executable_path``). Every request that is not a local file is refused, so the site
must work offline. Checks:

* **routing**: the landing page links every reader's path (student, analyst, cluster user,
  outreach host, maintainer) and the install → demo → tutorial → own analysis → cluster route,
  and each link leads to a page that exists; Getting started links the page that explains the
  demo's output;
* **1280 px**: no page scrolls horizontally, no table cell's text overflows its cell, and no code
  block is wider than the column (long lines wrap);
* **390 px** (a phone): no number in a table is broken over two lines (the generated cut and
  setup tables used to show one digit per line);
* **formulas offline**: MathJax (served with the site) typesets them; no raw ``$$``, ``\\(`` or
  ``\\[`` is left in the visible text.

Screenshots of each page at both widths are written under the test's temporary directory.
``NA64TOOLS_DOCS_SITE=<folder>`` checks a site built beforehand instead of building one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, missing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
#: reader -> pages the landing page must link for that reader
PATHS = {
    "student": ["getting_started", "technique", "tutorials", "glossary"],
    "analyst": ["own_analysis", "interactive", "limits_method", "limitations", "cli"],
    "cluster user": ["dask", "scale", "processor"],
    "outreach host": ["interactive"],
    "maintainer": ["contributing", "testing", "performance", "api/index", "changelog"],
    "route": ["getting_started", "results", "tutorials", "own_analysis", "dask"],
    "help": ["faq", "errors", "citing", "contents"],
}

#: pages checked at both widths: the ones with wide tables, long code and formulas
PAGES = ["index", "getting_started", "physics", "technique", "setup", "results", "processor",
         "simulation", "performance", "cli", "own_analysis", "limitations", "glossary",
         "limits_method"]

#: a number as the tables print it: 0.038, 1.98 × 10¹⁰, 160, 5.6e-4, 3.5–5.8e-4
_NUMBER_JS = r"/^[−+-]?[0-9][0-9.,]*([eE][−+-]?[0-9]+)?([–-][0-9.]+([eE][−+-]?[0-9]+)?)?$/"

_BROKEN_NUMBERS = """() => {
  const re = NUMBER_RE;
  const out = [];
  for (const cell of document.querySelectorAll("article td, article th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const text = node.textContent;
      const words = text.split(/(\\s+)/);
      let pos = 0;
      for (const w of words) {
        if (w.length >= 2 && re.test(w)) {
          const range = document.createRange();
          range.setStart(node, pos);
          range.setEnd(node, pos + w.length);
          const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
          if (lines.size > 1) out.push(w);
        }
        pos += w.length;
      }
    }
  }
  return out;
}""".replace("NUMBER_RE", _NUMBER_JS)

_OVERFLOWING_CELLS = """() => {
  const out = [];
  for (const cell of document.querySelectorAll("article td, article th")) {
    if (cell.closest("pre, .highlight")) continue;
    if (cell.scrollWidth > cell.clientWidth + 2) out.push(cell.innerText.slice(0, 40));
  }
  return out;
}"""

_OVERFLOWING_CODE = """() => {
  const out = [];
  for (const pre of document.querySelectorAll("article pre")) {
    if (pre.scrollWidth > pre.clientWidth + 2) out.push(pre.innerText.split("\\n")[0].slice(0, 50));
  }
  return out;
}"""

_VISIBLE_TEXT = """() => {
  const art = document.querySelector("article") || document.body;
  const clone = art.cloneNode(true);
  for (const el of clone.querySelectorAll("pre, code, script, style, .highlight, mjx-container"))
    el.remove();
  return clone.textContent;
}"""


def _missing() -> str | None:
    return missing(("myst_nb", "docs"), ("sphinx", "docs"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    prebuilt = os.environ.get("NA64TOOLS_DOCS_SITE")  # a site built already (while editing the CSS)
    if prebuilt and (Path(prebuilt) / "index.html").is_file():
        return Path(prebuilt)
    out = tmp_path_factory.mktemp("site") / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "docs", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return out


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, site: Path, page: str, width: int, height: int = 900):
    """A page of the site at ``width`` px, with every non-file request refused (offline)."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    tab = ctx.new_page()
    refused: list[str] = []

    def route(r):
        if r.request.url.startswith("file:"):
            return r.continue_()
        refused.append(r.request.url)
        return r.abort()

    tab.route("**/*", route)
    tab.goto((site / f"{page}.html").as_uri(), wait_until="load")
    tab.wait_for_timeout(300)
    return ctx, tab, refused


def _typeset(tab) -> None:
    """Wait until MathJax (if the page loads it) has typeset the page."""
    if tab.evaluate("() => !!document.querySelector('script[src*=\"mathjax\"]')"):
        tab.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                              timeout=30_000)
        tab.evaluate("() => MathJax.startup.promise")


def test_landing_page_routes_every_reader(site):
    import html
    import re

    index = (site / "index.html").read_text()
    links = {html.unescape(h).split("#")[0] for h in re.findall(r'href="([^"]+)"', index)}
    for reader, pages in PATHS.items():
        for page in pages:
            assert f"{page}.html" in links, f"the landing page does not link {page} ({reader})"
            assert (site / f"{page}.html").is_file(), f"{page}.html is linked but not built"
    gs = (site / "getting_started.html").read_text()
    assert 'href="results.html' in gs, "Getting started does not link the page on the demo's output"
    # the landing page is short: the full contents moved to contents.html
    assert 'href="contents.html' in index
    article = index.split("<article", 1)[-1].split("</article>", 1)[0]
    assert "toctree-l1" not in article, "the full table of contents is shown on the landing page"


@pytest.mark.parametrize("page", PAGES)
def test_page_at_1280px_has_no_horizontal_overflow(site, browser, page, tmp_path):
    ctx, tab, refused = _open(browser, site, page, 1280)
    try:
        _typeset(tab)
        tab.screenshot(path=str(tmp_path / f"{page}-1280.png"), full_page=True)
        sw, cw = tab.evaluate("() => [document.documentElement.scrollWidth, "
                              "document.documentElement.clientWidth]")
        assert sw <= cw, f"{page}: the page scrolls horizontally at 1280 px ({sw} > {cw})"
        cells = tab.evaluate(_OVERFLOWING_CELLS)
        assert not cells, f"{page}: table cells whose text overflows at 1280 px: {cells[:5]}"
        code = tab.evaluate(_OVERFLOWING_CODE)
        assert not code, f"{page}: code blocks wider than the column at 1280 px: {code[:5]}"
        text = tab.evaluate(_VISIBLE_TEXT)
        for raw in ("$$", "\\(", "\\[", "\\frac", "\\text{"):
            assert raw not in text, f"{page}: raw LaTeX {raw!r} is visible: formulas not typeset"
        if page in ("physics", "limits_method", "technique"):
            assert tab.locator("mjx-container").count() > 0, f"{page}: no formula was typeset"
    finally:
        ctx.close()
    assert not [u for u in refused if "mathjax" in u.lower()], f"{page}: MathJax from the network"


@pytest.mark.parametrize("page", ["setup", "technique", "results", "performance", "processor",
                                  "simulation", "limitations"])
def test_tables_are_readable_at_390px(site, browser, page, tmp_path):
    ctx, tab, _ = _open(browser, site, page, 390, 844)
    try:
        tab.screenshot(path=str(tmp_path / f"{page}-390.png"), full_page=True)
        broken = tab.evaluate(_BROKEN_NUMBERS)
        assert not broken, f"{page}: numbers broken over lines at 390 px: {broken[:8]}"
        sw, cw = tab.evaluate("() => [document.documentElement.scrollWidth, "
                              "document.documentElement.clientWidth]")
        assert sw <= cw, f"{page}: the page itself scrolls sideways at 390 px ({sw} > {cw})"
    finally:
        ctx.close()
