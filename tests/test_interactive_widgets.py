"""The CutExplorer widgets (no browser): sliders drive the model, every panel follows, bad input
and failures become messages in the page, never tracebacks; the dashboard CLI and notebook."""

from __future__ import annotations

import base64
import re

import nbformat
import pytest
import yaml

from na64tools.cli import build_parser
from na64tools.cli import main as cli_main
from na64tools.config import Cuts
from na64tools.interactive import CutExplorer
from na64tools.interactive.dashboard import demo_output, notebook_path, template_root, voila_command


@pytest.fixture(scope="module")
def _explorer(small_output):
    return CutExplorer(small_output, figure=False)


@pytest.fixture
def explorer(_explorer):
    _explorer.reset()
    _explorer._message("", "")
    return _explorer


def _number(html: str, cls: str) -> float:
    """The bold number inside the span of class ``cls`` of the summary line."""
    m = re.search(rf'class="{cls}">.*?<b>([0-9.]+)', html)
    assert m, html
    return float(m.group(1))


def test_slider_moves_drive_the_model_and_every_panel(explorer):
    s0, flow0 = explorer.summary_html.value, explorer.cutflow_html.value
    eff0, b0 = _number(s0, "na64-eff"), _number(s0, "na64-bkg")
    explorer.sliders["p_out_max"].value = 60.0
    assert explorer.model.cuts == Cuts(p_out_max=60.0)
    s1 = explorer.summary_html.value
    eff1, b1 = _number(s1, "na64-eff"), _number(s1, "na64-bkg")
    assert eff1 < eff0 and b1 < b0  # a tighter cut keeps less of both
    assert eff1 == pytest.approx(100 * explorer.model.summary.efficiency(explorer.mass), abs=0.05)
    assert explorer.cutflow_html.value != flow0
    assert explorer.message_html.value == ""


def test_figure_is_drawn_and_follows_the_cuts(small_output):
    e = CutExplorer(small_output)
    svg0 = {k: p.value for k, p in e.panels.items()}
    for k, v in svg0.items():  # four inline SVG panels, each with a text alternative
        assert v.startswith("<svg") and 'role="img"' in v and 'aria-label="' in v and "<desc>" in v, k
    # the p_out panel draws the cut where the slider is
    assert "keep p_out &lt; 80 GeV" in svg0["pout"]
    e.sliders["hcal_max"].value = 3.0
    assert e.panels["pout"].value != svg0["pout"]  # hcal changes the N-1 p_out distribution
    e.sliders["p_out_max"].value = 60.0
    assert "keep p_out &lt; 60 GeV" in e.panels["pout"].value
    assert "na64-error" not in e.message_html.value
    # a reset that changes nothing redraws nothing: identical values, so no message to the page
    e.reset()
    again = {k: p.value for k, p in e.panels.items()}
    sent = []
    for p in e.panels.values():
        p.observe(lambda ch: sent.append(ch), names="value")
    e.reset()
    assert sent == [] and again == {k: p.value for k, p in e.panels.items()}


def test_headline_is_the_expected_limit_observed_only_at_published_cuts(small_output):
    e = CutExplorer(small_output, figure=True)
    s = e.model.summary
    html0 = e.summary_html.value
    assert "Expected (median) 90 % CL limit" in html0 and "±1σ" in html0
    assert "Observed limit with the 2022 data" in html0 and "published cuts only" in html0
    assert "observed, 2022 data" in e.panels["limit"].value
    # the background with its statistical and systematic parts and n_eff, from the model's Summary
    b = s.total_background
    assert f"{b.n_eff:.1f} effective simulated events" in html0
    e.sliders["p_out_max"].value = 70.0
    html1 = e.summary_html.value
    assert "Observed limit with the 2022 data" not in html1  # data were unblinded at the published cuts only
    assert "shown only at the published cuts" in html1
    assert "observed, 2022 data" not in e.panels["limit"].value
    assert "expected (median)" in e.panels["limit"].value
    e.reset()
    assert "Observed limit with the 2022 data" in e.summary_html.value


def test_low_statistics_background_is_flagged(small_output):
    e = CutExplorer(small_output, figure=False)
    e.set_cuts(p_out_max=20.0, hcal_max=1.0)  # very tight: few simulated background events left
    s = e.model.summary
    assert ("na64-low-stat" in e.summary_html.value) == bool(s.low_statistics)
    if s.low_statistics:
        assert f"{s.n_eff:.1f} effective" in e.summary_html.value


def test_errors_name_the_moved_control_in_plain_words(small_output):
    e = CutExplorer(small_output, public=True, figure=False)
    e.sliders["ecal_max"].value = 0.0  # below ECAL min: the message must be about ECAL max
    msg = e.message_html.value
    assert "Target: most energy" in msg and "(ecal_max)" in msg and "set back" in msg
    assert msg.index("ecal_max") < msg.index("ecal_min")
    assert e.sliders["ecal_max"].value == e.model.published.ecal_max
    e.sliders["ecal_min"].value = e.model.ranges["ecal_min"].hi  # above ECAL max
    msg = e.message_html.value
    assert "Target: least energy" in msg and "must stay below" in msg


def test_public_controls_have_plain_words_and_tooltips(small_output):
    e = CutExplorer(small_output, public=True, figure=False)
    for name, s in e.sliders.items():
        assert s.description and "χ²" not in s.description and "vhcal" not in s.description.lower()
        assert len(s.tooltip) > 30, name
    for t in e.toggles.values():
        assert "_" not in t.description and t.tooltip


def test_events_are_coalesced_in_the_kernel_loop(small_output):
    """Inside a running event loop (the kernel) a burst of events costs one evaluation."""
    import asyncio

    e = CutExplorer(small_output, figure=False)
    calls = []
    real = e.model.set_cuts
    e.model.set_cuts = lambda **v: calls.append(v) or real(**v)

    async def burst():
        for v in (70.0, 65.0, 60.0):
            e.sliders["p_out_max"].value = v
        for _ in range(4):
            e.toggles["veto"].value = not e.toggles["veto"].value
        assert "na64-busy" in e.widget._dom_classes  # busy while the burst is pending
        await asyncio.sleep(0.2)

    asyncio.run(burst())
    assert calls == [{"p_out_max": 60.0, "veto": True}]
    assert "na64-busy" not in e.widget._dom_classes
    assert e.model.cuts.p_out_max == 60.0


def test_output_without_table_shows_a_message_not_a_traceback(small_output):
    no_table = {k: v for k, v in small_output.items() if k != "table"}
    e = CutExplorer(no_table)
    assert e.model is None and "no cached cut table" in e.error
    assert "na64-error" in e.message_html.value and "cannot start" in e.message_html.value
    assert e._repr_mimebundle_()  # still displayable
    with pytest.raises(ValueError, match="no cached cut table"):
        e.set_cuts(p_out_max=60)
    e2 = CutExplorer("not an output")
    assert "processor output" in e2.error
    t = small_output["table"]
    broken = dict(small_output, table=type(t)({k: v for k, v in t.columns.items() if k != "p_out"},
                                              t.datasets, t.samples, t.files, t.preselection))
    e3 = CutExplorer(broken)  # a table without a column: still a message, not a traceback
    assert e3.model is None and "could not be read" in e3.error and "p_out" in e3.error


def test_invalid_slider_value_is_explained_and_reverted(explorer):
    explorer.sliders["p_in_min"].value = 175.0  # above p_in_max = 170
    assert "na64-error" in explorer.message_html.value
    assert "p_in_max" in explorer.message_html.value
    assert explorer.sliders["p_in_min"].value == 150.0
    assert explorer.model.cuts == Cuts()


def test_cut_outside_the_table_is_explained(explorer):
    with pytest.raises(ValueError, match="preselection"):
        explorer.set_cuts(p_out_max=150.0)
    assert explorer.sliders["p_out_max"].value == 80.0
    explorer._safe(explorer.set_cuts)(p_out_max=150.0)  # what a button or text box would do
    assert "p_out &lt; 100 GeV" in explorer.message_html.value


def test_slider_where_no_event_is_left_gives_a_warning(explorer):
    explorer.sliders["p_out_max"].value = 0.0
    msg = explorer.message_html.value
    assert "na64-warning" in msg and "removes every stored event" in msg and "no simulated signal" in msg
    assert _number(explorer.summary_html.value, "na64-eff") == 0.0


def test_toggle_switches_a_cut_off(explorer):
    explorer.toggles["veto"].value = False
    assert "veto" in explorer.model.off and explorer.sliders["veto_max"].disabled
    assert "<s>no VETO activity</s> (off)" in explorer.cutflow_html.value
    explorer.toggles["veto"].value = True
    assert explorer.model.cuts == Cuts() and not explorer.sliders["veto_max"].disabled


def test_reset_and_export_buttons(explorer, tmp_path):
    explorer.sliders["p_out_max"].value = 55.0
    explorer.sliders["veto_max"].value = 0.02
    explorer.export_button.click()
    text = explorer.yaml_area.value
    exported = {k: v["value"] for k, v in yaml.safe_load(text)["cuts"].items()}
    assert exported == explorer.model.cuts.to_dict()
    b64 = re.search(r"base64,([A-Za-z0-9+/=]+)", explorer.download_html.value).group(1)
    assert base64.b64decode(b64).decode() == text
    path = tmp_path / "mine.yaml"
    explorer.export_yaml(path)
    assert Cuts.from_file(path) == Cuts(p_out_max=55.0, veto_max=0.02)
    explorer.reset_button.click()
    assert explorer.model.cuts == Cuts()
    assert explorer.sliders["p_out_max"].value == 80.0 and explorer.sliders["veto_max"].value == 0.015


def test_optimiser_button_and_apply(explorer):
    opt = explorer.optimise(mass=0.1, max_background=0.3, fields=("p_out_max", "hcal_max"), sweeps=1,
                            points=5)
    assert explorer.opt_mass.value == 0.1 and explorer.opt_max_background.value == 0.3
    assert "held-out half" in explorer.opt_html.value
    if opt.changed:
        explorer.apply_button.click()
        assert explorer.model.cuts == opt.cuts
    explorer.opt_mass.value = 7.0  # outside the simulated masses: a message, no exception
    explorer.optimise_button.click()
    assert "outside the simulated signal masses" in explorer.message_html.value


def test_unexpected_failure_in_a_callback_is_contained(explorer, monkeypatch):
    def boom(**_):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(explorer.model, "set_cuts", boom)
    explorer.sliders["hcal_max"].value = 3.0  # must not raise
    assert "Something went wrong" in explorer.message_html.value
    assert "disk on fire" in explorer.message_html.value


def test_public_text(small_output):
    e = CutExplorer(small_output, public=True, figure=False)
    assert "In plain words" in e.summary_html.value


def test_dashboard_notebook_and_command(tmp_path, small_output):
    nb = nbformat.read(notebook_path(), as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "CutExplorer" in code and "public=True" in code
    cmd = voila_command(8899)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=8899" in cmd and "--no-browser" in cmd
    # hosting: culling of idle kernels without a page, a cap, the template without CDN files
    assert "--MappingKernelManager.cull_idle_timeout=60" in cmd
    assert "--MappingKernelManager.cull_connected=False" in cmd
    assert "--template=na64" in cmd and any("CappedKernelManager" in c for c in cmd)
    assert (template_root() / "voila" / "templates" / "na64" / "index.html.j2").exists()
    tpl = (template_root() / "voila" / "templates" / "na64" / "index.html.j2").read_text()
    assert "super.super()" in tpl and "http" not in tpl
    assert nb.metadata.get("title") and "NA64" in nb.metadata["title"]
    args = build_parser().parse_args(["dashboard", "--port", "9000", "--no-browser", "--data", str(tmp_path)])
    assert args.port == 9000 and args.no_browser and args.data == str(tmp_path)
    assert cli_main(["dashboard", "--port", "0"]) == 1
    # an output (.json + .root) in --data is used as it is
    from na64tools.output import save_output

    save_output(small_output, tmp_path / "output")
    out = demo_output(tmp_path, log=None)
    assert len(out["table"]) == len(small_output["table"])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "output.json").write_text("not json")
    with pytest.raises(ValueError, match="cannot be read as a processor output"):
        demo_output(tmp_path / "bad", log=None)
    # a pickle is never loaded (it would run code)
    (tmp_path / "pkl").mkdir()
    (tmp_path / "pkl" / "output.coffea").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="loads no pickle"):
        demo_output(tmp_path / "pkl", log=None)
