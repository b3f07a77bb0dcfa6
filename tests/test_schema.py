"""NA64Schema: collections, behaviours, docstrings, and errors naming the file and the branch."""

from __future__ import annotations

import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from coffea.nanoevents import NanoEventsFactory

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

from na64tools.schema import MUON_MASS, REQUIRED_BRANCHES, NA64Schema, NA64SchemaError  # noqa: E402


def _events(path, **meta):
    return NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NA64Schema,
                                       metadata=meta or None, mode="eager").events()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "good.root"
    ev = nf.write_ntuple(path, 300, seed=11, basket=100)
    return path, ev


def test_collections_and_fields(good):
    path, ev = good
    events = _events(path, filename=str(path))
    assert set(events.fields) == {"run", "spill", "event", "genWeight", "Beam", "ECAL", "VETO",
                                  "VHCAL", "Trigger", "Gen", "Track", "HCAL", "GenPart"}
    assert events.Beam.fields == ["p", "chi2", "nhits", "x", "y", "tx", "ty"]
    assert events.Track.fields == ["p", "chi2", "nhits", "x", "y", "tx", "ty", "charge"]
    # jagged collections follow their counters, singletons are flat
    assert ak.to_list(ak.num(events.Track)) == ak.to_list(ak.num(ev["Track"]))
    assert ak.to_list(ak.num(events.HCAL)) == ak.to_list(ak.num(ev["HCAL"]))
    assert ak.to_list(events.Track.p) == ak.to_list(ak.values_astype(ev["Track"]["p"], np.float32))
    np.testing.assert_array_equal(ak.to_numpy(events.ECAL.energy), ev["ECAL_energy"])
    np.testing.assert_array_equal(ak.to_numpy(events.genWeight), ev["genWeight"])
    np.testing.assert_array_equal(ak.to_numpy(events.Gen.process), ev["Gen_process"])
    assert events.Track.p.ndim == 2 and events.Beam.p.ndim == 1


def test_docstrings(good):
    path, _ = good
    events = _events(path)
    assert events.Track.layout.content.parameter("__doc__") == NA64Schema.docstrings["Track"]
    assert "MS2" in events.Track.p.layout.content.parameter("__doc__")
    assert events.Beam.layout.parameter("__doc__") == NA64Schema.docstrings["Beam"]
    assert "[MOT]" in events.genWeight.layout.parameter("__doc__")


def test_track_momentum_vector(good):
    path, _ = good
    events = _events(path)
    trk = ak.flatten(events.Track)
    p, tx, ty = (ak.to_numpy(trk[f]).astype(np.float64) for f in ("p", "tx", "ty"))
    norm = np.sqrt(1 + tx**2 + ty**2)
    np.testing.assert_allclose(ak.to_numpy(trk.px), p * tx / norm, rtol=1e-15)
    np.testing.assert_allclose(ak.to_numpy(trk.pz), p / norm, rtol=1e-15)
    # the 3-vector has the measured momentum as magnitude and the slopes as direction
    vec = trk.pvec
    np.testing.assert_allclose(ak.to_numpy(vec.p), p, rtol=1e-12)
    np.testing.assert_allclose(ak.to_numpy(vec.x / vec.z), tx, rtol=1e-12)
    np.testing.assert_allclose(ak.to_numpy(trk.theta), np.arctan(np.hypot(tx, ty)), rtol=1e-12)
    # four-momentum with the PDG muon mass
    assert MUON_MASS == pytest.approx(0.1056583755, abs=1e-9)
    np.testing.assert_allclose(ak.to_numpy(events.Beam.p4.mass), MUON_MASS, rtol=1e-6)
    # vector behaviours work: opening angle between beam and scattered muon
    one = events[ak.num(events.Track) == 1]
    angle = one.Beam.pvec.deltaangle(one.Track.pvec[:, 0])
    assert np.all(ak.to_numpy(angle) >= 0)


def test_genpart_four_vectors(good):
    path, ev = good
    events = _events(path)
    gp = events.GenPart
    assert ak.to_list(ak.num(gp)) == ak.to_list(ak.num(ev["GenPart"]))
    e = ak.to_numpy(ak.flatten(gp.energy)).astype(np.float64)
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(gp.p4.t)), e)
    inv = ak.flatten(gp[gp.is_invisible].pdgId)
    assert set(ak.to_list(inv)) <= {5000023}
    assert ak.to_list(events.Gen.process_name[:3]) == [
        {0: "mip", 1: "signal", 2: "brems", 3: "pair", 4: "photonuclear", 5: "escape",
         6: "pi_decay", 7: "k_decay"}[c] for c in ev["Gen_process"][:3]]


def test_every_contract_branch_is_required():
    text = (Path(__file__).parents[1] / "docs" / "ntuple_format.md").read_text()
    events_section = text.split("## `Runs`")[0]
    for name in REQUIRED_BRANCHES:
        assert f"`{name}`" in events_section or name in events_section, name


@pytest.mark.parametrize("branch", ["Beam_p", "nTrack", "HCAL_energy", "genWeight", "Trigger_scattered"])
def test_missing_branch_names_file_and_branch(tmp_path, branch):
    path = tmp_path / f"no_{branch}.root"
    nf.write_ntuple(path, 50, seed=2, drop=(branch,) if branch != "nTrack" else ("Track",))
    with pytest.raises(NA64SchemaError) as err:
        _events(path, filename=str(path))
    msg = str(err.value)
    assert str(path) in msg
    assert repr(branch) in msg or (branch == "nTrack" and "'nTrack'" in msg)


@pytest.mark.parametrize("branch,dtype,expect", [
    ("Beam_p", np.float64, "float64"),
    ("Gen_process", np.float32, "float32"),
    ("Track_nhits", np.float32, "float32[]"),
    ("genWeight", np.float32, "float32"),
])
def test_wrong_type_names_file_branch_and_types(tmp_path, branch, dtype, expect):
    path = tmp_path / "retyped.root"
    nf.write_ntuple(path, 50, seed=3, retype={branch: dtype})
    with pytest.raises(NA64SchemaError) as err:
        _events(path, filename=str(path))
    msg = str(err.value)
    assert str(path) in msg and repr(branch) in msg and f"type {expect}" in msg


def test_error_without_filename_still_names_branch(tmp_path):
    path = tmp_path / "x.root"
    nf.write_ntuple(path, 20, seed=4, drop=("VETO_energy",))
    with pytest.raises(NA64SchemaError, match="missing branch 'VETO_energy'"):
        _events(path)
    assert issubclass(NA64SchemaError, ValueError)


def test_extra_branches_are_kept(tmp_path):
    path = tmp_path / "extra.root"
    nf.write_ntuple(path, 30, seed=5, extra={"Extra_flag": np.arange(30, dtype=np.int32)})
    events = _events(path)
    assert "Extra_flag" in events.fields
    assert ak.to_list(events.Extra_flag[:3]) == [0, 1, 2]
