"""The CutExplorer in a real JupyterLab: nothing clipped, nothing outside the output area.

Starts JupyterLab on 127.0.0.1 (a free port, a random token, a fresh settings and workspace
directory), opens a small notebook that shows a ``CutExplorer`` on the small test dataset in
headless Debian Chromium (Playwright), runs its cell, opens the optimiser's accordion, and
measures the boxes at three window widths with JupyterLab's file browser open (notebook
columns of about 850, 590 and 270 px): no button, label, readout or table cell is clipped
(``scrollWidth <= clientWidth``), no element of the explorer reaches outside the cell's output
area, and the cutflow table fits inside its box (at the narrowest width the box scrolls
sideways instead). The server is always stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, free_port, missing, wait_http
from _process import stop_group

pytestmark = pytest.mark.browser

#: window widths [px] measured; the cutflow table must fit its box at all but the last
WIDTHS = (1280, 1024, 700)

#: measured in the page: clipped controls, elements outside the output area, the cutflow boxes
_MEASURE = """() => {
  const ex = document.querySelector('.na64-cut-explorer');
  const area = ex.closest('.jp-OutputArea-output').getBoundingClientRect();
  const flow = ex.querySelector('.na64-cutflow');
  const shown = e => e.getClientRects().length > 0 && e.getBoundingClientRect().width > 0;
  const name = e => e.tagName + '.' + String(e.className).slice(0, 40) + ' "'
                    + (e.innerText || '').trim().slice(0, 40) + '"';
  const outside = [], clipped = [];
  for (const e of ex.querySelectorAll('*')) {
    if (e.closest('svg') || e.closest('style') || !shown(e) || flow.contains(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.left < area.left - 0.5 || r.right > area.right + 0.5) outside.push(name(e));
  }
  const labels = ex.querySelectorAll('button, .widget-label, .widget-label-basic, .widget-readout, '
                                     + 'select, td, th, .jupyter-widget-Collapse-header');
  let n = 0;
  for (const e of labels) {
    if (!shown(e)) continue;
    n += 1;
    if (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
      clipped.push(name(e) + ` ${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`);
  }
  const box = flow.getBoundingClientRect(), table = flow.querySelector('table').getBoundingClientRect();
  return {outside, clipped, n,
          buttons: [...ex.querySelectorAll('button')].filter(shown).map(b => b.innerText.trim()),
          area: [area.left, area.right], box: [box.left, box.right], table: [table.left, table.right],
          scrolls: getComputedStyle(flow).overflowX === 'auto' && flow.scrollWidth > flow.clientWidth};
}"""


def _missing() -> str | None:
    return missing(("jupyterlab", "notebooks"))


def _notebook(path, data) -> None:
    code = ("from na64tools.interactive import CutExplorer\n"
            "from na64tools.output import load_output\n\n"
            f"CutExplorer(load_output({os.fspath(data / 'output.json')!r}))")
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": code}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


def _lab(tmp_path, port: int, token: str, log) -> subprocess.Popen:
    """JupyterLab on 127.0.0.1:port; settings: every cell rendered (no windowing, so that
    off-screen outputs are laid out too) and no news or update pop-ups."""
    settings = tmp_path / "settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}')
    (settings / "apputils-extension").mkdir()
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    root = os.fspath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=os.fspath(tmp_path / "config"),
               JUPYTERLAB_SETTINGS_DIR=os.fspath(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=os.fspath(tmp_path / "workspaces"),
               JUPYTER_RUNTIME_DIR=os.fspath(tmp_path / "runtime"),
               PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path / 'nb'}",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # e.g. a CI container
        cmd.append("--allow-root")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _run_first_cell(page, tries: int = 8) -> None:
    """Run the notebook's cell; JupyterLab silently ignores a run requested before the kernel is
    attached (the prompt stays ``[ ]``), so try again until the prompt shows it ran."""
    prompt = page.locator(".jp-Cell .jp-InputPrompt").first
    for _ in range(tries):
        page.locator(".jp-Cell .jp-InputArea-editor").first.click(timeout=120_000)
        page.keyboard.press("Escape")  # command mode on this cell: Shift+Enter adds no text
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function("e => /\\[(\\*|1)\\]/.test(e.innerText)", arg=prompt.element_handle(),
                                   timeout=10_000)
            return
        except Exception:  # not run (kernel not attached yet): again
            continue
    raise AssertionError("JupyterLab did not run the notebook's cell")


def test_cut_explorer_is_not_clipped_in_jupyterlab(small_output, tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    from na64tools.output import save_output

    data = tmp_path / "data"
    data.mkdir()
    save_output(small_output, data / "output")
    (tmp_path / "nb").mkdir()
    _notebook(tmp_path / "nb" / "explorer.ipynb", data)
    port, token = free_port(), secrets.token_hex(16)
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - closed in finally
    proc = _lab(tmp_path, port, token, log)
    try:
        base = f"http://127.0.0.1:{port}/"
        wait_http(f"{base}api/status?token={token}", proc, timeout=120, what="JupyterLab")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                # tall: the whole output on screen
                page = browser.new_page(viewport={"width": WIDTHS[0], "height": 2400})
                page.goto(f"{base}lab/tree/explorer.ipynb?token={token}", timeout=120_000)
                _run_first_cell(page)
                try:
                    page.wait_for_selector(".na64-cut-explorer .na64-cutflow table", timeout=120_000)
                except Exception:
                    page.screenshot(path=os.fspath(tmp_path / "jupyterlab_timeout.png"))
                    raise
                page.wait_for_selector(".na64-panel-pout svg", timeout=60_000)
                page.get_by_text("Cut optimiser (for analysts)").click()  # its buttons too
                page.wait_for_selector("button:has-text('Optimise cuts')", state="visible")
                for width in WIDTHS:
                    page.set_viewport_size({"width": width, "height": 2400})
                    page.wait_for_timeout(300)  # a layout pass
                    m = page.evaluate(_MEASURE)
                    page.screenshot(path=os.fspath(tmp_path / f"jupyterlab_{width}.png"))
                    assert {"Reset to published cuts", "Export cuts as YAML", "Optimise cuts",
                            "Apply optimised cuts"} <= set(m["buttons"]), m["buttons"]
                    assert m["n"] > 30, m  # the labels, readouts and cells were found
                    assert m["clipped"] == [], (width, m["clipped"])
                    assert m["outside"] == [], (width, m["outside"])
                    area, box, table = m["area"], m["box"], m["table"]
                    assert area[0] - 0.5 <= box[0] and box[1] <= area[1] + 0.5, (width, m)
                    if width != WIDTHS[-1]:  # the table fits its box
                        assert box[0] - 0.5 <= table[0] and table[1] <= box[1] + 0.5, (width, m)
                    else:  # a narrow column: the box scrolls sideways, nothing is cut off
                        assert table[1] <= box[1] + 0.5 or m["scrolls"], (width, m)
            finally:
                browser.close()
    finally:
        stop_group(proc, log)  # JupyterLab and its kernel: the group we started
