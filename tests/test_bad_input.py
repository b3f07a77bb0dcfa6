"""Bad input, tried systematically: every case gets a clear error or a documented, tested handling.

Cases (docs/scale.md, "Bad input"):

1. fuzzed files: bytes flipped or the file truncated at random offsets (hypothesis, derandomised)
   -> a ``ValueError`` (``BadFileError``/``NA64SchemaError``) naming the file, or the result of the
   intact file with every event (never an uncaught low-level exception, never fewer events);
   the same with ``skip_bad_files=True`` (the file is skipped and listed, or read in full);
2. every ``Events`` branch missing, and mistyped -> ``BadFileError`` naming file and branch;
3. every ``Runs`` branch missing, a mistyped ``Runs`` branch, an empty ``Runs`` tree;
4. NaN, +-inf and negative values in the cut variables -> the event fails the cut that uses the
   value (NaN and +inf always; -inf and negative values pass the upper-only cuts HCAL, VETO,
   VHCAL and fail the ECAL window); NaN lands in the overflow bin of the N-1 histogram;
   non-finite ``genWeight`` -> ``BadFileError`` naming the file and the entries;
5. an empty (0-byte) file and a file that is not ROOT -> ``BadFileError``;
6. a file with zero events -> its MOT counted, zero events, output complete;
7. mismatched ``Runs`` metadata: two setups in one run, two setups in one file, two samples in one
   dataset -> ``MixedSetupError`` naming both files;
8. duplicated files: the same path twice (also across datasets, or spelled differently, or through a
   symlink), the same content under two paths, overlapping event ranges of one simulated sample
   -> ``DuplicateFileError``; files of one sample with disjoint ranges are accepted;
9. invalid cut files -> ``ConfigError`` naming the file;
10. ``Runs`` values: MOT not finite or not positive, a non-finite ``sumw``, ``nWritten >
    nGenerated``, an empty ``setupHash``, ``Runs`` entries of one file that disagree on sample,
    model, mass, coupling or seed, ``sumw``/``sumw2`` ×10 (compared with the ``genWeight`` summed
    while reading), a background MOT ×10 against ``genEventSumw`` -> ``BadFileError`` naming the
    file and the field;
11. a collection counter ``nX`` disagreeing with the list lengths of an ``X_field`` branch ->
    ``BadFileError`` naming the file, the branch and the entry (every collection, when read).

Partial outputs and unusable analysis inputs: tests/test_analysis_inputs.py, tests/test_cli_limits.py.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import ntuple_factory as nf  # noqa: E402

import na64tools.runner as na64run  # noqa: E402
from na64tools.config import ConfigError, Cuts  # noqa: E402
from na64tools.processor import RUNS_BRANCHES, BadFileError, MissingMomentumProcessor  # noqa: E402
from na64tools.selection import CUT_VARIABLES, VARIABLES, cut_masks  # noqa: E402

FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
_counter = itertools.count()


def _run(files, **kw):
    kw.setdefault("executor", "iterative")
    kw.setdefault("progress", False)
    if not isinstance(files, dict):
        files = {"bkg": [str(f) for f in files]}
    return na64run.run(files, **kw)


# --------------------------------------------------------------------------------------------
# 1. fuzzing the readers
# --------------------------------------------------------------------------------------------
class _Source(tuple):
    """(directory, file, bytes, reference output) with a short repr for hypothesis reports."""

    def __repr__(self) -> str:
        return f"<fuzz source {self[1]}>"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A small simulated background file, its bytes and its reference output."""
    from na64tools.sim import simulate

    d = tmp_path_factory.mktemp("fuzz")
    path = simulate("background", events=3000, seed=11, out=d / "src", files=1)[0]
    ref = _run([path])
    return _Source((d, path, path.read_bytes(), ref))


def _fuzzed(sim, data: bytes) -> Path:
    d = sim[0]
    path = d / f"fuzzed_{next(_counter)}.root"
    path.write_bytes(data)
    return path


def _check_result_or_clean_error(sim, path, **kw):
    """Run on ``path``: a ValueError naming it, or every event of the intact file."""
    ref = sim[3]
    try:
        out = _run([path], **kw)
    except ValueError as err:  # BadFileError, NA64SchemaError, FilesetError
        assert str(path) in str(err), err
        return None
    n = out["mot"]["bkg"].n_processed if "bkg" in out["mot"] else 0
    if out["skipped"]:
        assert kw.get("skip_bad_files") and not out["complete"]
        assert [s.filename for s in out["skipped"]] == [str(path)]
        return out
    assert out["complete"]
    assert n == ref["mot"]["bkg"].n_processed  # never silently fewer events
    assert out["mot"]["bkg"].n_written == ref["mot"]["bkg"].n_written
    return out


def _regions(size: int):
    # the header and first keys, the end (streamers, TTree metadata, keys list), anywhere
    return st.one_of(st.integers(0, min(600, size - 1)), st.integers(max(0, size - 6000), size - 1),
                     st.integers(0, size - 1))


@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_fuzz_flipped_bytes(sim, data):
    raw = bytearray(sim[2])
    offsets = data.draw(st.lists(_regions(len(raw)), min_size=1, max_size=4), label="offsets")
    for off in offsets:
        raw[off] ^= data.draw(st.integers(1, 255), label="xor")
    _check_result_or_clean_error(sim, _fuzzed(sim, bytes(raw)))


@settings(FUZZ, max_examples=15)
@given(fraction=st.one_of(st.floats(0.0, 0.9999), st.floats(0.99, 0.99999)))
def test_fuzz_truncated(sim, fraction):
    """A file cut anywhere: an error naming it, or (cut in the trailing free-segment record,
    which no reader needs) the full result."""
    raw = sim[2]
    path = _fuzzed(sim, raw[: int(len(raw) * fraction)])
    out = _check_result_or_clean_error(sim, path)
    if out is not None:
        assert len(raw) - path.stat().st_size <= 100, "a file cut in its data was read"


@settings(FUZZ, max_examples=10)
@given(data=st.data())
def test_fuzz_with_skip_bad_files(sim, data):
    """A fuzzed file next to an intact copy of another sample: skipped and listed, or read in full."""
    raw = bytearray(sim[2])
    for off in data.draw(st.lists(_regions(len(raw)), min_size=1, max_size=3), label="offsets"):
        raw[off] ^= 0xFF
    path = _fuzzed(sim, bytes(raw))
    _check_result_or_clean_error(sim, path, skip_bad_files=True)


@settings(FUZZ, max_examples=15)
@given(data=st.data())
def test_fuzz_make_fileset(sim, data):
    """Grouping files by their Runs tree never fails on a damaged file: it goes to 'unreadable'."""
    raw = bytearray(sim[2])
    off = data.draw(_regions(len(raw)), label="offset")
    raw[off] ^= 0x5A
    path = _fuzzed(sim, bytes(raw))
    fs = na64run.make_fileset([path])
    assert list(fs) in (["background"], ["unreadable"])


# --------------------------------------------------------------------------------------------
# 2-3. missing and mistyped branches
# --------------------------------------------------------------------------------------------
EVENTS_BRANCHES = [*nf.FLAT, *(f"{c}_{f}" for c, fs in nf.JAGGED.items() for f in fs)]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    path = d / "good.root"
    nf.write_ntuple(path, 300, seed=81, basket=100)
    return path, _run([path])


def _assert_skipped_equal_good(out, good_out, bad: dict[str, Path], expect: dict[str, str]):
    assert not out["complete"]
    skipped = {s.filename: s.reason for s in out["skipped"]}
    assert set(skipped) == {str(p) for p in bad.values()}
    for key, p in bad.items():
        assert str(p) in skipped[str(p)] and expect[key] in skipped[str(p)], (key, skipped[str(p)])
    assert out["cutflow"]["bkg"] == good_out["cutflow"]["bkg"]
    assert out["mot"]["bkg"] == good_out["mot"]["bkg"]


def test_every_events_branch_missing(tmp_path, good):
    bad = {}
    for i, b in enumerate(EVENTS_BRANCHES):
        bad[b] = tmp_path / f"no_{b}.root"
        nf.write_ntuple(bad[b], 40, seed=200 + i, drop=(b,))
    out = _run([good[0], *bad.values()], skip_bad_files=True)
    _assert_skipped_equal_good(out, good[1], bad, {b: repr(b) for b in bad})
    # and without skip_bad_files, the first bad file is named with its branch
    with pytest.raises(BadFileError, match=r"no_Beam_p\.root.*'Beam_p'"):
        _run([good[0], bad["Beam_p"]])


def test_mistyped_events_branches(tmp_path, good):
    other = {np.dtype(np.float32): np.float64, np.dtype(np.float64): np.float32,
             np.dtype(np.int32): np.int64, np.dtype(np.int64): np.int32, np.dtype(np.bool_): np.int8}
    bad = {}
    # every flat branch, and the first field of each collection (the fields of a collection are
    # checked by the same code)
    firsts = {f"{c}_{next(iter(fs))}" for c, fs in nf.JAGGED.items()}
    for i, b in enumerate(b for b in EVENTS_BRANCHES if b in nf.FLAT or b in firsts):
        if b in nf.FLAT:
            dt = np.dtype(nf.FLAT[b])
        else:
            c, f = b.split("_", 1)
            dt = np.dtype(nf.JAGGED[c][f])
        bad[b] = tmp_path / f"retyped_{b}.root"
        nf.write_ntuple(bad[b], 40, seed=300 + i, retype={b: other[dt]})
    out = _run([good[0], *bad.values()], skip_bad_files=True)
    _assert_skipped_equal_good(out, good[1], bad, {b: repr(b) for b in bad})


def _rewrite_runs(path: Path, *, drop=(), change=None, entries=None):
    """Replace the Runs tree of ``path`` (branches dropped, values changed, or given entries)."""
    with uproot.open(path) as f:
        runs = f["Runs"].arrays(library="np")
    runs = {k: v for k, v in runs.items() if k not in drop}
    for k, v in (change or {}).items():
        runs[k] = np.asarray(v)
    if entries is not None:
        runs = entries
    types = {k: ("string" if v.dtype.kind in "OU" else v.dtype) for k, v in runs.items()}
    with uproot.update(path) as f:
        del f["Runs"]
        f.mktree("Runs", types)
        if len(next(iter(runs.values()))):
            f["Runs"].extend({k: (v.astype(str) if v.dtype.kind == "O" else v) for k, v in runs.items()})


def test_runs_tree_problems(tmp_path, good):
    bad, expect = {}, {}
    for i, b in enumerate(RUNS_BRANCHES):
        bad[b] = tmp_path / f"runs_no_{b}.root"
        nf.write_ntuple(bad[b], 30, seed=400 + i)
        _rewrite_runs(bad[b], drop=(b,))
        expect[b] = f"missing branch {b!r}"
    bad["mot_str"] = tmp_path / "runs_mot_string.root"
    nf.write_ntuple(bad["mot_str"], 30, seed=450)
    _rewrite_runs(bad["mot_str"], change={"mot": np.array(["1e10"], dtype=object)})
    expect["mot_str"] = "'mot' has type"
    bad["empty_runs"] = tmp_path / "runs_empty.root"
    nf.write_ntuple(bad["empty_runs"], 30, seed=451)
    with uproot.open(bad["empty_runs"]) as f:
        runs = f["Runs"].arrays(library="np")
    _rewrite_runs(bad["empty_runs"], entries={k: v[:0] for k, v in runs.items()})
    expect["empty_runs"] = "Runs tree is empty"
    bad["no_runs"] = tmp_path / "no_runs.root"
    nf.write_ntuple(bad["no_runs"], 30, seed=452)
    with uproot.update(bad["no_runs"]) as f:
        del f["Runs"]
    expect["no_runs"] = "no 'Runs' tree"
    out = _run([good[0], *bad.values()], skip_bad_files=True)
    _assert_skipped_equal_good(out, good[1], bad, expect)
    for key in ("no_runs", "empty_runs", "mot_str"):
        s = next(s for s in out["skipped"] if s.filename == str(bad[key]))
        assert s.mot is None  # the exposure of an unreadable Runs tree is unknown, and said so


# --------------------------------------------------------------------------------------------
# 4. NaN, inf and negative values
# --------------------------------------------------------------------------------------------
UPPER_ONLY = {"hcal", "veto", "vhcal", "p_out", "beam_chi2", "track_chi2"}
LOWER_ONLY = {"track_hits"}


@settings(FUZZ, max_examples=60)
@given(var=st.sampled_from([v for v in VARIABLES if v != "trigger"]),
       value=st.sampled_from([math.nan, math.inf, -math.inf, -1.0, -1e-3]))
def test_nonfinite_and_negative_values_in_cut_variables(var, value):
    """Documented handling: NaN fails the cut of its variable; +inf fails every upper bound (it
    passes only the lower-only cut on the number of MS2 hits); -inf and negative values fail every
    window or lower bound and pass upper-only cuts (a pedestal-subtracted energy can be slightly
    negative)."""
    n = 5
    v = {k: np.full(n, x) for k, x in {"p_in": 160.0, "beam_chi2": 1.0, "n_tracks": 1.0,
                                       "track_chi2": 1.0, "track_hits": 10.0, "p_out": 50.0,
                                       "ecal": 0.5, "hcal": 1.0, "veto": 0.001, "vhcal": 0.1}.items()}
    v["trigger"] = np.ones(n, bool)
    cuts = Cuts()
    assert all(m.all() for m in cut_masks(v, cuts).values())  # a signal-like event passes all
    v[var] = v[var].copy()
    v[var][2] = value
    masks = cut_masks(v, cuts)
    cut = next(c for c, vs in CUT_VARIABLES.items() if var in vs)
    for name, m in masks.items():
        assert m[[0, 1, 3, 4]].all()
        if name != cut:
            assert m[2], (name, var, value)
    should_pass = (value < 0 and var in UPPER_ONLY) or (value == math.inf and var in LOWER_ONLY)
    assert bool(masks[cut][2]) == should_pass, (var, value)


@pytest.mark.parametrize("branch,value,hist_bin", [
    ("ECAL_energy", np.nan, "overflow"), ("ECAL_energy", np.inf, "overflow"),
    ("ECAL_energy", -np.inf, "underflow"), ("ECAL_energy", -0.5, "underflow"),
    ("VETO_energy", np.nan, "overflow"), ("VHCAL_energy", np.inf, "overflow"),
])
def test_nonfinite_energies_in_a_file(tmp_path, branch, value, hist_bin):
    """An event that passes everything, with one energy replaced: it fails the cut, and its
    N-1 histogram entry moves to the overflow (NaN, +inf) or underflow (-inf, negative) bin."""
    from na64tools.selection import passes, variables_from_branches

    base = tmp_path / "base.root"
    ev = nf.write_ntuple(base, 1500, seed=91)
    with uproot.open(base) as f:
        v = variables_from_branches(f["Events"].arrays())
    i = int(np.flatnonzero(passes(v, Cuts()))[0])
    ev[branch] = np.asarray(ev[branch]).copy()
    ev[branch][i] = value
    path = tmp_path / "nonfinite.root"
    nf.write_ntuple(path, 1500, seed=91, events=ev)
    ref, out = _run([base]), _run([path])
    assert out["cutflow"]["bkg"]["vhcal"].events == ref["cutflow"]["bkg"]["vhcal"].events - 1
    var = {"ECAL_energy": "ecal", "VETO_energy": "veto", "VHCAL_energy": "vhcal"}[branch]
    h, h0 = out["hists"][f"nminus1_{var}"], ref["hists"][f"nminus1_{var}"]
    diff = (h.values(flow=True) - h0.values(flow=True))[0].sum(axis=0)  # dataset 0, sum processes
    w = float(np.asarray(ev["genWeight"])[i])
    assert diff[0 if hist_bin == "underflow" else -1] == pytest.approx(w, rel=1e-12)
    assert np.count_nonzero(diff) == 2 and diff.sum() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_weight_is_an_error_naming_file_and_entries(tmp_path, value):
    ev = nf.make_events(500, 92)
    ev["genWeight"] = np.asarray(ev["genWeight"]).copy()
    ev["genWeight"][321] = value
    path = tmp_path / "weight.root"
    # a Runs tree with finite sums (else the pre-flight check of Runs.mot/sumw names it first)
    nf.write_ntuple(path, 500, seed=92, events=ev,
                    runs_values={"mot": 1e10, "sumw": 500.0, "sumw2": 500.0})
    with pytest.raises(BadFileError) as err:
        _run([path], chunksize=100)
    msg = str(err.value)
    assert str(path) in msg and "entries 300-400" in msg and "not finite" in msg


# --------------------------------------------------------------------------------------------
# 5-6. empty files, non-ROOT files, zero events
# --------------------------------------------------------------------------------------------
def test_empty_and_non_root_files(tmp_path, good):
    empty = tmp_path / "empty.root"
    empty.write_bytes(b"")
    text = tmp_path / "text.root"
    text.write_text("this is not a ROOT file\n" * 50)
    for p in (empty, text):
        with pytest.raises(BadFileError, match=str(p)):
            _run([p])
    out = _run([good[0], empty, text], skip_bad_files=True)
    _assert_skipped_equal_good(out, good[1], {"e": empty, "t": text}, {"e": "an empty file (0 bytes), not a ROOT file",
                                                                 "t": "not a ROOT file"})
    assert all(s.mot is None for s in out["skipped"])


def test_zero_event_file_counts_its_mot(tmp_path, good):
    zero = tmp_path / "zero.root"
    nf.write_ntuple(zero, 0, seed=93, mot=5.0e8, n_generated=1000)
    out = _run([good[0], zero], chunksize=100)
    assert out["complete"] and not out["skipped"]
    assert out["mot"]["bkg"].mot == good[1]["mot"]["bkg"].mot + 5.0e8
    assert out["mot"]["bkg"].n_files == 2 and out["mot"]["bkg"].n_processed == 300
    assert out["cutflow"]["bkg"]["all"].events == 300
    alone = _run([zero])
    assert alone["cutflow"]["bkg"]["all"] == (0, 0.0) and alone["mot"]["bkg"].mot == 5.0e8


# --------------------------------------------------------------------------------------------
# 7. mismatched Runs metadata
# --------------------------------------------------------------------------------------------
def test_two_setups_in_one_run_name_both_files(tmp_path):
    a, b = tmp_path / "setup_a.root", tmp_path / "setup_b.root"
    nf.write_ntuple(a, 50, seed=94)
    nf.write_ntuple(b, 50, seed=95)
    _rewrite_runs(b, change={"setupHash": np.array(["f" * 64], dtype=object),
                             "setup": np.array(["na64mu_2023"], dtype=object)})
    for fs in ({"bkg": [str(a), str(b)]}, {"bkg": [str(a)], "other": [str(b)]}):
        with pytest.raises(na64run.MixedSetupError) as err:
            _run(fs)
        msg = str(err.value)
        assert str(a) in msg and str(b) in msg and "na64mu_2023" in msg
    # also with skip_bad_files: an inconsistent fileset is not a bad file
    with pytest.raises(na64run.MixedSetupError):
        _run([a, b], skip_bad_files=True)


def test_two_setups_in_one_file(tmp_path):
    path = tmp_path / "two_runs.root"
    nf.write_ntuple(path, 50, seed=96)
    with uproot.open(path) as f:
        runs = f["Runs"].arrays(library="np")
    two = {k: np.concatenate([v, v]) for k, v in runs.items()}
    two["setupHash"] = np.array(["0" * 64, "e" * 64], dtype=object)
    two["nWritten"] = np.array([25, 25], np.int64)
    _rewrite_runs(path, entries=two)
    with pytest.raises(na64run.MixedSetupError, match=f"{path}: its Runs tree mixes setups"):
        _run([path])


def test_two_samples_in_one_dataset(tmp_path):
    a, b = tmp_path / "sig_a.root", tmp_path / "sig_b.root"
    nf.write_ntuple(a, 50, seed=97, sample="signal", model="vector", mass=0.1, coupling=1e-4)
    nf.write_ntuple(b, 50, seed=98, sample="signal", model="vector", mass=0.2, coupling=1e-4)
    with pytest.raises(na64run.MixedSetupError) as err:
        _run({"signal": [str(a), str(b)]})
    assert str(a) in str(err.value) and str(b) in str(err.value) and "mass 0.2" in str(err.value)
    out = _run({"m1": [str(a)], "m2": [str(b)]})  # one dataset each: fine
    assert out["complete"]


# --------------------------------------------------------------------------------------------
# 8. duplicated files
# --------------------------------------------------------------------------------------------
def test_same_path_twice_in_any_spelling(tmp_path, good):
    p = good[0]
    link = tmp_path / "link.root"
    os.symlink(p, link)
    spelled = os.path.join(str(p.parent), ".", p.name)
    for fs in ({"a": [str(p)], "b": [str(p)]}, {"a": [str(p), spelled]}, {"a": [str(p), str(link)]}):
        with pytest.raises(na64run.DuplicateFileError, match="listed twice"):
            _run(fs)


def test_same_content_under_two_paths(tmp_path, good):
    copy = tmp_path / "copy.root"
    shutil.copy(good[0], copy)
    with pytest.raises(na64run.DuplicateFileError) as err:
        _run([good[0], copy])
    assert str(good[0]) in str(err.value) and str(copy) in str(err.value)
    assert "same file" in str(err.value)


def test_overlapping_simulated_samples(tmp_path):
    from na64tools.sim import simulate

    two = simulate("background", events=2000, seed=12, out=tmp_path / "k2", files=2)
    four = simulate("background", events=2000, seed=12, out=tmp_path / "k4", files=4)
    other_seed = simulate("background", events=2000, seed=13, out=tmp_path / "s13", files=1)
    # one sample's own files, and another seed: accepted
    out = _run([*two, *other_seed])
    assert out["complete"] and out["mot"]["bkg"].n_files == 3
    # file 0 of 2 covers events 0-999, file 1 of 4 covers 500-999: counted twice
    with pytest.raises(na64run.DuplicateFileError) as err:
        _run([two[0], four[1]])
    assert str(two[0]) in str(err.value) and str(four[1]) in str(err.value)
    # file 2 of 4 (1000-1499) does not overlap file 0 of 2
    assert _run([two[0], four[2]])["complete"]


# --------------------------------------------------------------------------------------------
# 9. invalid cut files
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,text,message", [
    ("unknown.yaml", "cuts:\n  p_out_mx: 70\n", "unknown cut 'p_out_mx'"),
    ("unit.yaml", "cuts:\n  p_out_max: {value: 70, unit: MeV}\n", "unit 'MeV', expected 'GeV'"),
    ("text.yaml", "cuts:\n  ecal_max: low\n", "is not a number"),
    ("nan.yaml", "cuts:\n  ecal_max: .nan\n", "ecal_max"),
    ("negative.yaml", "cuts:\n  ecal_max: -1\n", "ecal_max"),
    ("order.yaml", "cuts:\n  p_in_min: 175\n", "p_in_min"),
    ("list.yaml", "- 1\n- 2\n", "expected a mapping"),
    ("syntax.yaml", "cuts: [unclosed\n", "invalid YAML"),
    ("syntax.toml", "[cuts\np_out_max = 1\n", "invalid TOML"),
    ("looser.yaml", "cuts:\n  p_out_max: 150\n", "cut p_out_max = 150 GeV is looser than the preselection"),
    ("missing.yaml", None, "cannot read"),
])
def test_invalid_cut_files(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as err:
        MissingMomentumProcessor(path)
    assert message in str(err.value)
    if name != "looser.yaml":  # that one is a valid cut file, but looser than the preselection
        assert str(path) in str(err.value)


# --------------------------------------------------------------------------------------------
# 10. Runs values (not only names and types)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value,message", [
    ("mot", math.inf, "Runs.mot = inf (entry 0): expected a finite, positive number of muons"),
    ("mot", math.nan, "Runs.mot = nan (entry 0): expected a finite, positive"),
    ("mot", 0.0, "Runs.mot = 0.0 (entry 0): expected a finite, positive"),
    ("mot", -1e10, "Runs.mot = -10000000000.0 (entry 0): expected a finite, positive"),
    ("sumw", math.nan, "Runs.sumw = nan (entry 0): expected a finite, non-negative"),
    ("nGenerated", 10, "Runs.nWritten = 40 (entry 0): more events written than generated "
                       "(Runs.nGenerated = 10)"),
    ("setupHash", "", "Runs.setupHash = '' (entry 0): empty: the setup of the file is unknown"),
])
def test_bad_runs_values_name_file_and_field(tmp_path, good, field, value, message):
    path = tmp_path / f"runs_{field}.root"
    nf.write_ntuple(path, 40, seed=500, runs_values={field: value})
    with pytest.raises(BadFileError) as err:
        _run([path])
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    # with skip_bad_files the file is left out and listed, the rest is exact
    out = _run([good[0], path], skip_bad_files=True)
    _assert_skipped_equal_good(out, good[1], {field: path}, {field: message})


def test_runs_entries_of_one_file_must_agree(tmp_path):
    path = tmp_path / "two_masses.root"
    nf.write_ntuple(path, 50, seed=501, sample="signal", model="vector", mass=0.1, coupling=1e-4)
    with uproot.open(path) as f:
        runs = f["Runs"].arrays(library="np")
    two = {k: np.concatenate([v, v]) for k, v in runs.items()}
    two["mass"] = np.array([0.1, 0.5])
    two["nWritten"] = np.array([25, 25], np.int64)
    two["sumw"] = two["sumw"] / 2
    two["sumw2"] = two["sumw2"] / 2
    _rewrite_runs(path, entries=two)
    with pytest.raises(BadFileError, match=rf"{path}: Runs\.mass differs between entries 0 \(0\.1\) "
                                           r"and 1 \(0\.5\): one mass per file"):
        _run([path])
    two["mass"] = np.array([0.1, 0.1])
    two["seed"] = np.array([1, 2], np.int64)
    _rewrite_runs(path, entries=two)
    with pytest.raises(BadFileError, match=r"Runs\.seed differs between entries 0 \(1\) and 1 \(2\)"):
        _run([path])


@pytest.mark.parametrize("field", ["sumw", "sumw2"])
def test_runs_sums_must_match_the_weights_read(tmp_path, good, field):
    """Runs.sumw (×10) is compared with the genWeight summed while the chunks are processed."""
    ref = tmp_path / "ref.root"
    ev = nf.write_ntuple(ref, 250, seed=502, basket=100)
    w = np.asarray(ev["genWeight"])
    true = math.fsum(w) if field == "sumw" else math.fsum(w * w)
    path = tmp_path / f"{field}_x10.root"
    nf.write_ntuple(path, 250, seed=502, basket=100, runs_values={field: 10 * true})
    with pytest.raises(BadFileError) as err:
        _run([path], chunksize=60)   # five chunks: the per-chunk sums are added
    msg = str(err.value)
    assert msg.startswith(f"{path}: Runs.{field} = ") and "of its 250 events sum to" in msg
    assert f"{true:.6g}" in f"{float(msg.split('sum to ')[1].split(':')[0]):.6g}"
    out = _run([good[0], path], skip_bad_files=True, chunksize=60)
    _assert_skipped_equal_good(out, good[1], {field: path}, {field: f"Runs.{field} = "})
    # the intact file passes, whatever the chunking
    assert _run([ref], chunksize=60)["complete"]


def test_background_mot_must_match_the_generated_weights(tmp_path):
    """With Runs.genEventSumw (files of na64tools.sim) a background MOT ×10 is caught."""
    ok, bad = tmp_path / "mot_ok.root", tmp_path / "mot_x10.root"
    nf.write_ntuple(ok, 60, seed=503, mot=2.0e9, n_generated=5000)
    nf.write_ntuple(bad, 60, seed=503, mot=2.0e10, n_generated=5000)
    for p in (ok, bad):
        with uproot.open(p) as f:
            runs = f["Runs"].arrays(library="np")
        _rewrite_runs(p, change={**runs, "genEventSumw": np.array([2.0e9 * 1.001])})
    assert _run([ok])["mot"]["bkg"].mot == 2.0e9
    with pytest.raises(BadFileError, match=rf"{bad}: Runs\.mot = 20000000000\.0 \(entry 0\): the "
                                           r"generated background events stand for Runs\.genEventSumw"):
        _run([bad])


# --------------------------------------------------------------------------------------------
# 11. collection counters against their lists
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("coll,branch", [("Track", "Track_p"), ("HCAL", "HCAL_energy")])
def test_counter_disagreeing_with_its_collection(tmp_path, good, coll, branch):
    import awkward as ak

    ev = nf.make_events(300, 504)
    counts = np.asarray(ak.num(ev[coll]), np.int32).copy()
    i = 217   # move one object from entry 217 to entry 218: the same total, shifted values
    j = int(np.flatnonzero(counts[i:] > 0)[0]) + i
    counts[j] -= 1
    counts[j + 1] += 1
    path = tmp_path / f"bad_n{coll}.root"
    nf.write_ntuple(path, 300, seed=504, events=ev, counters={coll: counts}, basket=100)
    with pytest.raises(BadFileError) as err:
        _run([path], chunksize=100)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and f"Events entry {j}: n{coll} = {counts[j]} but " \
        f"{branch} has {counts[j] + 1} values" in msg
    out = _run([good[0], path], skip_bad_files=True, chunksize=100)
    _assert_skipped_equal_good(out, good[1], {coll: path}, {coll: f"n{coll} = "})
    # the correct counters written the same way are accepted, with the events of the plain file
    fine = tmp_path / f"fine_n{coll}.root"
    nf.write_ntuple(fine, 300, seed=504, events=ev, counters={coll: np.asarray(ak.num(ev[coll]))})
    plain = tmp_path / f"plain_{coll}.root"
    nf.write_ntuple(plain, 300, seed=504, events=ev)
    assert _run([fine])["cutflow"]["bkg"] == _run([plain])["cutflow"]["bkg"]


def test_every_collection_counter_is_checked_when_read(tmp_path):
    """GenPart is not read by the processor; reading it through NA64Schema checks nGenPart."""
    import awkward as ak
    from coffea.nanoevents import NanoEventsFactory

    from na64tools.schema import COLLECTIONS, NA64CounterError, NA64Schema

    ev = nf.make_events(50, 505)
    for coll in COLLECTIONS:
        counts = np.asarray(ak.num(ev[coll]), np.int32).copy()
        counts[10] += 1
        path = tmp_path / f"n{coll}.root"
        nf.write_ntuple(path, 50, seed=505, events=ev, counters={coll: counts})
        events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NA64Schema,
                                             mode="virtual").events()
        for field in COLLECTIONS[coll]:
            with pytest.raises(NA64CounterError, match=rf"entry 10: n{coll} = {counts[10]} but "
                                                       rf"{coll}_{field} has {counts[10] - 1} values"):
                ak.to_list(getattr(events[coll], field))


def test_zero_event_file_must_have_zero_sums(tmp_path, good):
    path = tmp_path / "zero_sumw.root"
    nf.write_ntuple(path, 0, seed=506, mot=5.0e8, n_generated=1000, runs_values={"sumw": 7.0})
    with pytest.raises(BadFileError, match=rf"{path}: Runs\.sumw = 7\.0 but the genWeight of its 0 "
                                           r"events sum to 0\.0"):
        _run([path])
