"""Write small NA64 ntuples for the tests, exactly in the format of ``docs/ntuple_format.md``.

The content is *not* a physics simulation: it is a deterministic, seeded mixture of events whose
cut variables straddle every threshold of the published selection, so that every cut of the
cutflow removes some events and the expected cutflow can be computed independently with numpy
from the arrays returned by :func:`make_events`. Weights (``genWeight``) are generic float64 values
(log-normal spread) so that floating-point sums genuinely depend on the summation order.

Helpers damage files for the bad-file tests: :func:`truncate`, :func:`corrupt_basket`.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot

#: branch -> numpy dtype of the flat (per-event) branches of ``Events``
FLAT = {
    "run": np.int32, "spill": np.int32, "event": np.int64,
    "Beam_p": np.float32, "Beam_chi2": np.float32, "Beam_nhits": np.int32,
    "Beam_x": np.float32, "Beam_y": np.float32, "Beam_tx": np.float32, "Beam_ty": np.float32,
    "ECAL_energy": np.float32, "ECAL_preshower": np.float32, "ECAL_x": np.float32, "ECAL_y": np.float32,
    "VETO_energy": np.float32, "VHCAL_energy": np.float32, "Trigger_scattered": np.bool_,
    "Gen_process": np.int32, "Gen_mismeasured": np.bool_, "Gen_x": np.float32, "genWeight": np.float64,
}
#: collection -> {field: dtype} of the jagged branches of ``Events``
JAGGED = {
    "Track": {"p": np.float32, "chi2": np.float32, "nhits": np.int32, "x": np.float32,
              "y": np.float32, "tx": np.float32, "ty": np.float32, "charge": np.int32},
    "HCAL": {"energy": np.float32, "module": np.int32},
    "GenPart": {"pdgId": np.int32, "energy": np.float32, "px": np.float32, "py": np.float32,
                "pz": np.float32, "status": np.int32},
}
RUNS = {
    "run": np.int32, "mot": np.float64, "nGenerated": np.int64, "nWritten": np.int64,
    "sumw": np.float64, "sumw2": np.float64, "sample": "string", "model": "string",
    "mass": np.float64, "coupling": np.float64, "setup": "string", "setupHash": "string",
    "generator": "string", "seed": np.int64,
}

MUON_MASS = 0.1056583755  # GeV (PDG 2022), only used to fill GenPart energies


def make_events(n: int, seed: int, *, sample: str = "background", run: int = 1,
                weight_scale: float = 1.0) -> dict[str, object]:
    """Deterministic event content: a dict of branch arrays (numpy or awkward) for ``n`` events.

    Each cut variable is drawn so that a sizeable fraction of events sits on each side of its
    threshold in :class:`na64tools.config.Cuts` (and some exactly on it).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    f32 = np.float32
    ev: dict[str, object] = {}
    ev["run"] = np.full(n, run, np.int32)
    ev["spill"] = (np.arange(n) // 1000 + 1).astype(np.int32)
    ev["event"] = np.arange(n, dtype=np.int64) + 1
    if sample == "signal":
        proc = rng.choice([1, 0], size=n, p=[0.9, 0.1])
    else:
        proc = rng.choice(np.arange(8), size=n, p=[0.3, 0.0, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05])
    ev["Gen_process"] = proc.astype(np.int32)
    ev["Gen_mismeasured"] = rng.random(n) < 0.05
    # beam: mostly inside the (150, 170) GeV window, tails outside, a few exactly on the edges
    p_in = rng.normal(160.0, 6.0, n)
    p_in[rng.random(n) < 0.01] = 150.0
    ev["Beam_p"] = p_in.astype(f32)
    ev["Beam_chi2"] = rng.exponential(1.2, n).astype(f32)
    ev["Beam_nhits"] = rng.integers(6, 11, n).astype(np.int32)
    ev["Beam_x"] = rng.normal(0, 1, n).astype(f32)
    ev["Beam_y"] = rng.normal(0, 1, n).astype(f32)
    ev["Beam_tx"] = rng.normal(0, 1e-4, n).astype(f32)
    ev["Beam_ty"] = rng.normal(0, 1e-4, n).astype(f32)
    # downstream tracks: 0..3, first track carries p_out
    ntrk = rng.choice([0, 1, 2, 3], size=n, p=[0.05, 0.75, 0.15, 0.05]).astype(np.int32)
    tot = int(ntrk.sum())
    p_out_first = np.where(proc == 1, rng.uniform(20, 90, n), rng.uniform(30, 150, n))
    tp = rng.uniform(10, 150, tot)
    starts = np.cumsum(ntrk) - ntrk
    has = ntrk > 0
    tp[starts[has]] = p_out_first[has]
    tp[starts[has][:20]] = 80.0  # exactly on the threshold: fails p_out < 80
    track = {
        "p": tp.astype(f32),
        "chi2": rng.exponential(1.3, tot).astype(f32),
        "nhits": rng.integers(5, 13, tot).astype(np.int32),
        "x": rng.normal(0, 5, tot).astype(f32),
        "y": rng.normal(0, 5, tot).astype(f32),
        "tx": rng.normal(0, 0.01, tot).astype(f32),
        "ty": rng.normal(0, 0.01, tot).astype(f32),
        "charge": np.where(rng.random(tot) < 0.97, 1, -1).astype(np.int32),
    }
    ev["Track"] = ak.zip({k: ak.unflatten(v, ntrk) for k, v in track.items()})
    # calorimeters: MIP-like or showering
    mip = (proc == 0) | (proc == 1) | (proc >= 5)
    ecal = np.where(mip, rng.normal(0.35, 0.05, n), rng.uniform(0.5, 60.0, n))
    ecal[rng.random(n) < 0.01] = 1.0  # on the upper edge of the MIP window: fails ecal < 1
    ev["ECAL_energy"] = np.abs(ecal).astype(f32)
    ev["ECAL_preshower"] = (0.1 * np.abs(ecal)).astype(f32)
    ev["ECAL_x"] = rng.normal(0, 1, n).astype(f32)
    ev["ECAL_y"] = rng.normal(0, 1, n).astype(f32)
    nh = rng.choice([0, 1, 2], size=n, p=[0.1, 0.3, 0.6]).astype(np.int32)
    htot = int(nh.sum())
    hen = np.where(rng.random(htot) < 0.8, rng.normal(1.25, 0.12, htot), rng.uniform(0, 20, htot))
    ev["HCAL"] = ak.zip({
        "energy": ak.unflatten(np.abs(hen).astype(f32), nh),
        "module": ak.values_astype(ak.local_index(ak.unflatten(np.zeros(htot), nh)), np.int32),
    })
    ev["VETO_energy"] = np.where(rng.random(n) < 0.85, rng.normal(0.006, 0.0006, n),
                                 rng.uniform(0, 0.05, n)).astype(f32)
    ev["VHCAL_energy"] = np.where(rng.random(n) < 0.85, rng.exponential(0.1, n),
                                  rng.uniform(0, 10, n)).astype(f32)
    ev["Trigger_scattered"] = rng.random(n) < 0.95
    ev["Gen_x"] = np.where(mip, 0.0, rng.uniform(0, 1, n)).astype(f32)
    # truth particles: incoming muon, outgoing muon, and an invisible X for signal
    ngp = np.where(proc == 1, 3, 2).astype(np.int32)
    gtot = int(ngp.sum())
    gidx = np.asarray(ak.flatten(ak.local_index(ak.unflatten(np.zeros(gtot), ngp))))
    pz = np.where(gidx == 0, 160.0, rng.uniform(10, 150, gtot))
    ev["GenPart"] = ak.zip({
        "pdgId": ak.unflatten(np.where(gidx == 2, 5000023, -13).astype(np.int32), ngp),
        "energy": ak.unflatten(np.sqrt(pz**2 + MUON_MASS**2).astype(f32), ngp),
        "px": ak.unflatten(rng.normal(0, 0.1, gtot).astype(f32), ngp),
        "py": ak.unflatten(rng.normal(0, 0.1, gtot).astype(f32), ngp),
        "pz": ak.unflatten(pz.astype(f32), ngp),
        "status": ak.unflatten(np.minimum(gidx, 2).astype(np.int32), ngp),
    })
    # generic weights: float64 values whose sums depend on the summation order
    ev["genWeight"] = weight_scale * rng.lognormal(0.0, 1.0, n)
    return ev


def write_ntuple(path: str | Path, n: int = 1000, seed: int = 1, *, sample: str = "background",
                 model: str = "", mass: float = 0.0, coupling: float = 0.0, run: int = 1,
                 mot: float | None = None, n_generated: int | None = None, n_written: int | None = None,
                 basket: int = 2000,
                 weight_scale: float = 1.0, drop: tuple[str, ...] = (),
                 retype: dict[str, object] | None = None, events: dict | None = None,
                 extra: dict[str, np.ndarray] | None = None, compression=None,
                 runs_values: dict[str, object] | None = None,
                 counters: dict[str, np.ndarray] | None = None) -> dict[str, object]:
    """Write one ntuple file (``Events`` + ``Runs``) and return the event content written.

    ``drop`` removes branches (or whole collections) and ``retype`` writes branches with another
    dtype, to build files that violate the format on purpose; ``extra`` adds flat branches;
    ``runs_values`` overrides values of the ``Runs`` entry (e.g. ``{"sumw": 1.0}``); ``counters`` writes
    the counter ``nColl`` of a collection with the given values instead of its list lengths (the
    fields ``Coll_field`` then keep their own lengths, with counters ``nColl_field``).
    """
    compression = uproot.ZLIB(1) if compression is None else compression
    ev = make_events(n, seed, sample=sample, run=run, weight_scale=weight_scale) if events is None else events
    retype = dict(retype or {})
    branch_types: dict[str, object] = {}
    for name, dtype in FLAT.items():
        if name not in drop:
            branch_types[name] = retype.get(name, dtype)
    extra = dict(extra or {})
    for name, values in extra.items():
        branch_types[name] = np.asarray(values).dtype
    counters = dict(counters or {})
    for coll, fields in JAGGED.items():
        if coll in drop:
            continue
        rec = {f: retype.get(f"{coll}_{f}", dt) for f, dt in fields.items() if f"{coll}_{f}" not in drop}
        if coll in counters:
            for f, dt in rec.items():
                branch_types[f"{coll}_{f}"] = ak.values_astype(ev[coll][f][:0], dt).type.content
            branch_types[f"n{coll}"] = np.int32
            continue
        branch_types[coll] = ak.zip({f: ak.values_astype(ev[coll][f][:0], dt) for f, dt in rec.items()}).type.content
    with uproot.recreate(path, compression=compression) as fout:
        fout.mktree("Events", branch_types)
        for start in range(0, max(n, 1), basket):
            stop = min(n, start + basket)
            if stop <= start:
                break
            chunk = {}
            for name in branch_types:
                coll, _, fld = name.partition("_")
                if name.startswith("n") and name[1:] in counters:
                    chunk[name] = np.asarray(counters[name[1:]][start:stop], np.int32)
                elif coll in counters and fld in JAGGED[coll]:
                    chunk[name] = ak.values_astype(ev[coll][fld][start:stop],
                                                   retype.get(name, JAGGED[coll][fld]))
                elif name in JAGGED:
                    fields = JAGGED[name]
                    chunk[name] = ak.zip({f: ak.values_astype(ev[name][f][start:stop], retype.get(f"{name}_{f}", dt))
                                          for f, dt in fields.items() if f"{name}_{f}" not in drop})
                else:
                    src = extra[name] if name in extra else ev[name]
                    chunk[name] = np.asarray(src[start:stop]).astype(branch_types[name])
            fout["Events"].extend(chunk)
        w = np.asarray(ev["genWeight"], dtype=np.float64)
        runs = {
            "run": np.array([run], np.int32),
            "mot": np.array([float(w.sum()) * 3.0 if mot is None else mot]),
            "nGenerated": np.array([3 * n if n_generated is None else n_generated], np.int64),
            "nWritten": np.array([n if n_written is None else n_written], np.int64),
            "sumw": np.array([float(w.sum())]),
            "sumw2": np.array([float((w * w).sum())]),
            "sample": np.array([sample]),
            "model": np.array([model]),
            "mass": np.array([mass]),
            "coupling": np.array([coupling]),
            "setup": np.array(["na64mu_2022"]),
            "setupHash": np.array(["0" * 64]),
            "generator": np.array(["tests.ntuple_factory"]),
            "seed": np.array([seed], np.int64),
        }
        for k, v in (runs_values or {}).items():
            kind = runs[k].dtype.kind if k in runs else None
            runs[k] = np.array([v]) if kind in (None, "U", "O") else np.array([v], dtype=runs[k].dtype)
        fout.mktree("Runs", {k: RUNS.get(k, runs[k].dtype) for k in runs})
        fout["Runs"].extend(runs)
    return ev


def truncate(path: str | Path, fraction: float = 0.5) -> None:
    """Cut the file to ``fraction`` of its bytes (a transfer that stopped half-way)."""
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def corrupt_basket(path: str | Path, branch: str = "Beam_p", basket: int = 1) -> None:
    """Overwrite the compressed payload of one basket of ``branch`` with garbage bytes."""
    path = Path(path)
    with uproot.open(path) as f:
        br = f["Events"][branch]
        seek = int(br.member("fBasketSeek")[basket])
        nbytes = int(br.member("fBasketBytes")[basket])
    data = bytearray(path.read_bytes())
    # skip the TKey header (~80 bytes) and the 9-byte compression header; hit the payload
    lo, hi = seek + nbytes // 2, seek + nbytes - 4
    data[lo:hi] = bytes((i * 37 + 11) % 256 for i in range(hi - lo))
    path.write_bytes(bytes(data))


def expected_cutflow(ev: dict[str, object], cuts) -> dict[str, tuple[int, float]]:
    """Independent numpy computation of the cumulative cutflow: {stage: (events, fsum of weights)}.

    Written from the contract (docs/ntuple_format.md) and the published cut list, not from
    :mod:`na64tools.selection`, to check it.
    """
    import math

    f64 = np.float64
    ntrk = np.asarray(ak.num(ev["Track"]))
    first = lambda a, fill: np.asarray(ak.fill_none(ak.firsts(a), fill), dtype=f64)  # noqa: E731
    p_in = np.asarray(ev["Beam_p"], dtype=np.float32).astype(f64)
    chi2 = np.asarray(ev["Beam_chi2"], dtype=np.float32).astype(f64)
    tchi2 = first(ak.values_astype(ev["Track"]["chi2"], np.float32), np.inf)
    thits = first(ev["Track"]["nhits"], 0.0)
    pout = first(ak.values_astype(ev["Track"]["p"], np.float32), np.inf)
    ecal = np.asarray(ev["ECAL_energy"], dtype=np.float32).astype(f64)
    hcal = np.asarray(ak.sum(ak.values_astype(ev["HCAL"]["energy"], np.float32), axis=1), dtype=f64)
    veto = np.asarray(ev["VETO_energy"], dtype=np.float32).astype(f64)
    vhcal = np.asarray(ev["VHCAL_energy"], dtype=np.float32).astype(f64)
    steps = [
        ("trigger", np.asarray(ev["Trigger_scattered"], dtype=bool)),
        ("beam", (p_in > cuts.p_in_min) & (p_in < cuts.p_in_max) & (chi2 < cuts.beam_chi2_max)),
        ("n_tracks", (ntrk >= 1) & (ntrk <= cuts.n_tracks_max)),
        ("track_quality", (tchi2 < cuts.track_chi2_max) & (thits >= cuts.track_hits_min)),
        ("p_out", pout < cuts.p_out_max),
        ("ecal", (ecal >= cuts.ecal_min) & (ecal < cuts.ecal_max)),
        ("hcal", hcal < cuts.hcal_max),
        ("veto", veto < cuts.veto_max),
        ("vhcal", vhcal < cuts.vhcal_max),
    ]
    w = np.asarray(ev["genWeight"], dtype=f64)
    acc = np.ones(len(w), dtype=bool)
    out = {"all": (int(acc.sum()), math.fsum(w))}
    for name, m in steps:
        acc = acc & m
        out[name] = (int(acc.sum()), math.fsum(w[acc]))
    return out
