"""Exports: CSV, JSON and HEPData YAML agree with the result they were written from."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from na64tools.analysis import analyse
from na64tools.export import HEPDATA_MISSING, export_result, hepdata_note, write_hepdata


@pytest.fixture(scope="module")
def result(small_output):
    return analyse(small_output)


def test_csv_and_json_round_trip(result, tmp_path):
    paths = export_result(result, tmp_path, hepdata=False)
    rows = list(csv.DictReader(paths["limits_csv"].read_text().splitlines()))
    assert len(rows) == len(result.limit.masses)
    np.testing.assert_array_equal([float(r["observed"]) for r in rows], result.limit.observed)
    np.testing.assert_array_equal([float(r["expected_median"]) for r in rows], result.limit.expected.median)
    effs = list(csv.DictReader(paths["efficiency_csv"].read_text().splitlines()))
    assert [float(r["efficiency"]) for r in effs] == [e.value for _, e in sorted(result.efficiencies.items())]
    for r, m in zip(effs, sorted(result.efficiencies), strict=True):
        prod = (float(r["eps_trigger"]) * float(r["c_set_not_measured"]) * float(r["eps_acceptance"])
                * float(r["eps_selection"]))
        assert prod == pytest.approx(float(r["efficiency"]), rel=1e-14)
        assert int(r["n_triggered"]) == result.factors[m].n_triggered
    bkg = {r["source"]: r for r in csv.DictReader(paths["background_csv"].read_text().splitlines())}
    assert set(bkg) == {*result.background, "total"}
    for src, b in [*result.background.items(), ("total", result.total_background)]:
        assert float(bkg[src]["events"]) == b.value
        # n_eff = (value/stat)^2: the exported columns agree with each other
        if b.stat > 0:
            assert float(bkg[src]["n_eff"]) == pytest.approx((b.value / b.stat) ** 2, rel=1e-12)
        assert bkg[src]["low_statistics"] == str(b.low_statistics)
    data = json.loads(paths["json"].read_text())
    assert data["limits"]["observed"] == result.limit.observed.tolist()
    assert data["background_total"]["value"] == result.total_background.value
    assert data["background_total"]["n_eff"] == result.total_background.n_eff
    assert data["background"]["misreconstruction"]["n_eff"] == result.background["misreconstruction"].n_eff


def test_hepdata_submission(result, tmp_path, monkeypatch):
    pytest.importorskip("hepdata_lib")
    monkeypatch.chdir(tmp_path)
    sub = write_hepdata(result, "hepdata")
    assert sub == Path("hepdata") / "submission.yaml", "the returned path is the one asked for, not absolute"
    assert sub.exists() and (tmp_path / "hepdata.tar.gz").exists()
    assert not (tmp_path / "hepdata" / "submission.tar.gz").exists(), "an archive inside fails the validator"
    assert not (tmp_path / "submission.tar.gz").exists(), "tarball must not be left in the working directory"
    docs = list(yaml.safe_load_all(sub.read_text()))
    tables = [d for d in docs if d and "data_file" in d]
    assert len(tables) == 2
    assert "that pass trigger, acceptance and all cuts" in tables[1]["description"]
    eff = yaml.safe_load((tmp_path / "hepdata" / tables[1]["data_file"]).read_text())
    assert [v["header"]["name"] for v in eff["dependent_variables"]][1:] == [
        "efficiency trigger factor", "efficiency correction c_set (set, not measured)",
        "efficiency acceptance factor", "efficiency selection factor"]
    limit = yaml.safe_load((tmp_path / "hepdata" / tables[0]["data_file"]).read_text())
    np.testing.assert_allclose([v["value"] for v in limit["dependent_variables"][0]["values"]],
                               result.limit.observed, rtol=1e-4)  # hepdata_lib keeps 5 digits


def _validator():
    """hepdata-validator's FullSubmissionValidator class, or skip with the reason."""
    try:
        from hepdata_validator.full_submission_validator import FullSubmissionValidator
    except ImportError:
        pytest.skip("hepdata-validator is not installed (it comes with the 'limits' extra)")
    return FullSubmissionValidator


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_hepdata_submission_passes_hepdata_validator(result, tmp_path):
    pytest.importorskip("hepdata_lib", reason="HEPData export needs the 'limits' extra")
    validator = _validator()
    paths = export_result(result, tmp_path)
    folder, archive = paths["hepdata"].parent, paths["hepdata_archive"]
    assert archive == tmp_path / "hepdata.tar.gz"
    for kind, target in (("directory", folder), ("archive", archive)):
        v = validator()
        ok = v.validate(**{kind: str(target)})
        messages = [f"{f}: {m.message}" for f, ms in v.get_messages().items() for m in ms]
        assert ok, f"hepdata-validator rejects the {kind} {target}: {messages}"


def test_without_hepdata_lib_the_outputs_say_so(result, small_output, tmp_path, monkeypatch):
    from na64tools.config import default_setup
    from na64tools.report import write_results

    monkeypatch.setitem(sys.modules, "hepdata_lib", None)  # import hepdata_lib -> ImportError
    paths = export_result(result, tmp_path / "exports")
    assert "hepdata" not in paths and not (tmp_path / "exports" / "hepdata").exists()
    assert hepdata_note(result, paths) == HEPDATA_MISSING
    assert "install na64tools[limits]" in HEPDATA_MISSING
    paths = write_results(result, small_output, default_setup(), tmp_path / "demo")
    assert HEPDATA_MISSING in paths["headline"].read_text()
    assert HEPDATA_MISSING in paths["report"].read_text()


def test_ntuples_store_no_machine_path(small_fileset):
    """The Runs tree names the setup file portably (basename); setupHash identifies its content."""
    import uproot

    from na64tools.config import default_setup

    setup = default_setup()
    for files in small_fileset.values():
        with uproot.open(files[0]) as f:
            runs = f["Runs"].arrays(["setupFile", "setupHash"], library="np")
        for name, digest in zip(runs["setupFile"], runs["setupHash"], strict=True):
            assert "/" not in name and "\\" not in name, f"absolute path in setupFile: {name!r}"
            assert name == Path(setup.source_file).name
            assert digest == setup.hash
