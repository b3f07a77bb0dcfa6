"""Event generation: one block of events at a time, vectorised with numpy.

A block is generated in two stages (``docs/simulation.md``):

A. *Trigger-relevant truth*, per stratum (random stream ``[seed, sample, block, 1 + stratum]``):
   the incoming particle and its energy, the process in the target and the outgoing muon energy,
   the MS2 measurement of the muon (core, tail, missing planes), its trajectory (beam spot and
   divergence, decay kink, signal recoil, multiple scattering) through the geometric model
   (:mod:`.geometry`: MS2 apertures, trigger counters, HCAL, VETO, VHCAL) and the trigger decision.
B. *Everything else*, for the kept events of the block (stream ``[seed, sample, block, 0]``
   for triggered events, ``[..., 1]`` for the others when all events are asked for): MS1,
   secondaries, calorimeter deposits, track quality, pile-up, GenPart.

So the events written to a file (triggered only) are exactly the triggered events of
:func:`generate` with ``triggered_only=False``, and the expensive detector response is computed
only for the events that are kept.
"""

from __future__ import annotations

from collections.abc import Callable

import awkward as ak
import numpy as np
from particle import Particle

from .beam import HADRONS, MUON_MASS, MUON_PDGID
from .detector import (
    chi2_per_ndf,
    em_fraction,
    highland_angle,
    landau_quantile,
    mip_deposit,
    smear,
)
from .plan import BLOCK_SIZE, S_MIN, V_ESC, V_SPLIT, Z_ESC, Z_WIDE, SamplePlan, make_plan
from .processes import SM_PROCESSES, V_MIN, eloss_sampler, signal_sampler
from .trigger import fire

__all__ = ["generate", "generate_block", "final_state", "FLAT_BRANCHES", "COLLECTIONS", "Block"]

#: flat Events branches and their dtypes (docs/ntuple_format.md)
FLAT_BRANCHES: dict[str, type] = {
    "run": np.int32, "spill": np.int32, "event": np.int64,
    "Beam_p": np.float32, "Beam_chi2": np.float32, "Beam_nhits": np.int32,
    "Beam_x": np.float32, "Beam_y": np.float32, "Beam_tx": np.float32, "Beam_ty": np.float32,
    "ECAL_energy": np.float32, "ECAL_preshower": np.float32, "ECAL_x": np.float32, "ECAL_y": np.float32,
    "VETO_energy": np.float32, "VHCAL_energy": np.float32, "Trigger_scattered": np.bool_,
    "Gen_process": np.int32, "Gen_mismeasured": np.bool_, "Gen_x": np.float32, "genWeight": np.float64,
}
#: jagged collections: name -> {field: dtype} (counter branch ``n<name>``)
COLLECTIONS: dict[str, dict[str, type]] = {
    "Track": {"p": np.float32, "chi2": np.float32, "nhits": np.int32, "x": np.float32,
              "y": np.float32, "tx": np.float32, "ty": np.float32, "charge": np.int32},
    "HCAL": {"energy": np.float32, "module": np.int32},
    "GenPart": {"pdgId": np.int32, "energy": np.float32, "px": np.float32, "py": np.float32,
                "pz": np.float32, "status": np.int32},
}

#: masses [GeV] of the leading hadrons written in GenPart (PDG via ``particle``)
_N_MASS = Particle.from_pdgid(2112).mass / 1000.0
#: electron mass [GeV] and the PDG id of the electron of the same charge as the beam muon
ELECTRON_MASS = Particle.from_pdgid(11).mass / 1000.0
_ELECTRON_PDGID = 11 if MUON_PDGID > 0 else -11
_PI_MASS = Particle.from_pdgid(211).mass / 1000.0

_CODE = {"none": 0, "signal": 1, **SM_PROCESSES, "escape": 5, "pi": 6, "k": 7}
_KIND = {"muon": 0, "signal": 1, "k": 2, "pi": 3}
_PN_MODE = {"natural": 0, "exclude": 1, "force": 2, "force_wide": 3, "force_charged": 4}


def _rng(plan: SamplePlan, block: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        [plan.seed, plan.sample_id, block, stream])))


# ==========================================================================================
# stage A: trigger-relevant truth of one stratum
# ==========================================================================================
def _natural_losses(plan: SamplePlan, rng: np.random.Generator, n: int,
                    choices: dict[str, float], ranges: dict[str, tuple[float, float | None]]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Draw the SM interaction class (code 0 none, 2-4) with the given probabilities and its v."""
    names = list(choices)
    p = np.array([choices[k] for k in names])
    cum = np.cumsum(p / p.sum())
    which = np.searchsorted(cum, rng.random(n), side="right")
    np.minimum(which, len(names) - 1, out=which)
    code = np.zeros(n, np.int32)
    v = np.zeros(n)
    e0 = plan.beam.energy
    for i, name in enumerate(names):
        if name == "none":
            continue
        sel = np.flatnonzero(which == i)
        code[sel] = SM_PROCESSES[name]
        lo, hi = ranges[name]
        v[sel] = eloss_sampler(name, e0, plan.target.material, lo, hi).sample(sel.size, rng)
    return code, v


def _stage_a(plan: SamplePlan, s: int, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    st = plan.strata[s]
    if st.kind == "signal" and final_state(plan) == "electron":
        return _stage_a_electron(plan, s, rng, n)
    beam, ms2 = plan.beam, plan.ms2
    e0 = beam.energy
    mat = plan.target.material
    lp = plan.extra["loss_probabilities"]
    t: dict[str, np.ndarray] = {}
    p_in = beam.draw_momentum(rng, n)
    t["p_in"] = p_in
    x_sig = np.zeros(n)
    cos_star = np.zeros(n)
    if st.kind == "muon" or st.kind == "signal":
        e_mu0 = np.sqrt(p_in * p_in + MUON_MASS**2)
        t["pdg_in"] = np.full(n, MUON_PDGID, np.int32)
    else:
        h = HADRONS[st.kind]
        cos_star = rng.uniform(-1.0, 1.0, n)
        e_mu0, _ = h.decay(p_in, cos_star)
        t["pdg_in"] = np.full(n, h.pdgid, np.int32)
    t["cos_star"] = cos_star
    theta_x = np.zeros(n)
    if st.kind == "signal":
        sampler = signal_sampler(plan.mass, plan.signal_model or plan.model, e0, mat, plan.x_min)
        x_sig, theta_x = sampler.sample(n, rng)
    t["x_sig"], t["theta_x"] = x_sig, theta_x

    # --- SM energy loss in the target
    loss = st.loss
    full = {k: (V_MIN, None) for k in SM_PROCESSES}
    if loss == "bulk":
        choices = {"none": lp["none"], **{k: lp[f"{k}:soft"] for k in SM_PROCESSES}}
        code, v = _natural_losses(plan, rng, n, choices, {k: (V_MIN, V_SPLIT) for k in SM_PROCESSES})
    elif loss == "natural":
        choices = {"none": lp["none"], **{k: lp[k] for k in SM_PROCESSES}}
        code, v = _natural_losses(plan, rng, n, choices, full)
    elif loss == "none":
        code, v = np.zeros(n, np.int32), np.zeros(n)
    elif loss == "escape":
        code = np.full(n, SM_PROCESSES["photonuclear"], np.int32)
        v = eloss_sampler("photonuclear", e0, mat, V_ESC, None).sample(n, rng)
    else:
        kind, proc = loss.split(":")
        code = np.full(n, SM_PROCESSES[proc], np.int32)
        lo, hi = (V_MIN, V_SPLIT) if kind == "soft" else (V_SPLIT, None)
        sampler = eloss_sampler(proc, e0, mat, lo, hi)
        v = sampler.sample(n, rng)
        if proc == "photonuclear" and st.pn == "exclude":
            # remove the escape configuration: accept v >= V_ESC with probability 1 - p_C
            p_c = plan.extra["escape_configuration"]
            todo = np.flatnonzero((v >= V_ESC) & (rng.random(n) < p_c))
            while todo.size:
                v[todo] = sampler.sample(todo.size, rng)
                todo = todo[(v[todo] >= V_ESC) & (rng.random(todo.size) < p_c)]
    t["proc"], t["v"] = code, v
    e_out = e_mu0 * (1.0 - v) * (1.0 - x_sig)
    e_out = np.maximum(e_out, MUON_MASS * (1.0 + 1e-9))
    t["e_mu0"], t["e_out"] = e_mu0, e_out
    p_out = np.sqrt(e_out * e_out - MUON_MASS**2)
    t["p_out"] = p_out

    # --- MS2 measurement of the muon and the trigger
    if st.tail == "forced":
        missing, d = ms2.draw_forced_tail(rng, n, S_MIN)
    else:
        missing = ms2.draw_missing(rng, n)
        d = ms2.draw_natural_tail(rng, missing, exclude_up_beyond=S_MIN if st.tail == "exclude" else None)
    p_meas, charge = ms2.measure(p_out, 1, d, ms2.resolution, rng.standard_normal(n))
    t["missing"], t["tail_d"], t["p_meas"], t["charge"] = missing, d, p_meas, charge

    # --- the muon's trajectory (beam spot and divergence, decay kink of a beam hadron, signal
    #     recoil, multiple scattering in the ECAL), MS2 acceptance and the trigger counters
    geo = plan.geometry
    g = rng.standard_normal((6, n))
    x, y = beam.spot * g[0], beam.spot * g[1]
    tx, ty = beam.divergence * g[2], beam.divergence * g[3]
    t["x0"], t["y0"], t["tx0"], t["ty0"] = x.copy(), y.copy(), tx.copy(), ty.copy()
    phi = np.zeros(n)
    if st.kind in ("k", "pi"):
        h = HADRONS[st.kind]
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
        _, pt = h.decay(p_in, cos_star)
        ang = pt / np.sqrt(np.maximum(e_mu0**2 - MUON_MASS**2, 1e-12))
        dist = beam.draw_decay_position(rng, st.kind, p_in)
        tx += ang * np.cos(phi)
        ty += ang * np.sin(phi)
        x += ang * np.cos(phi) * dist
        y += ang * np.sin(phi) * dist
    psi = np.zeros(n)
    rtx = np.zeros(n)
    rty = np.zeros(n)
    if st.kind == "signal":
        psi = rng.uniform(0.0, 2.0 * np.pi, n)
        e_x = x_sig * e_mu0
        pt_x = np.sqrt(np.maximum(e_x**2 - plan.mass**2, 0.0)) * np.sin(theta_x)
        rtx = -pt_x * np.cos(psi) / p_out
        rty = -pt_x * np.sin(psi) / p_out
    theta_ms = highland_angle(p_out, plan.target.radiation_lengths)
    mtx = tx + rtx + theta_ms * g[4]
    mty = ty + rty + theta_ms * g[5]
    xv, yv = x + tx * geo.z_vertex, y + ty * geo.z_vertex
    bend = geo.kick(p_out, d)
    t["x"], t["y"], t["tx"], t["ty"], t["phi"], t["psi"] = x, y, tx, ty, phi, psi
    t["xv"], t["yv"], t["mtx"], t["mty"] = xv, yv, mtx, mty
    t["in_hcal"] = geo.in_hcal(xv, yv, mtx, mty, bend)
    t["in_veto"] = geo.in_veto(xv, yv, mtx, mty)
    t["in_vhcal"] = geo.in_vhcal_body(xv, yv, mtx, mty)
    hit = geo.counters_hit(xv, yv, mtx, mty, bend) & geo.beam_accepted(t["x0"], t["y0"])
    fired = fire(hit, plan.setup.trigger, rng.random(n))
    # random veto: an unrelated beam muon crosses the upstream beam veto in the readout window
    fired &= rng.random(n) >= plan.extra["random_veto"]
    # MS2 stations alive in this event (one draw per station, common to all its particles)
    alive = geo.stations_alive(rng.random((geo.n_stations, n)))
    t["lost"], t["two_sided"] = geo.ms2_seen(xv, yv, mtx, mty, bend, alive)
    t["alive"] = alive.T.copy()
    if st.kind == "signal":
        # signal.efficiency_correction: its own factor after the trigger (set, not measured)
        fired &= rng.random(n) < float(plan.setup.signal.efficiency_correction)
    t["trigger"] = fired
    t["stratum"] = np.full(n, s, np.int16)
    return t


def final_state(plan: SamplePlan) -> str:
    """What the generator puts after the production vertex of the sample's signal:
    ``"muon"`` (the outgoing muon recoiling against the invisible system; every background
    sample) or ``"electron"`` (μN → eX: an electron shower and no muon), the model's
    :attr:`~na64tools.models.Model.final_state`.

    Parameters
    ----------
    plan : SamplePlan
        The sample.

    Returns
    -------
    str
        ``"muon"`` or ``"electron"``.
    """
    if plan.sample != "signal":
        return "muon"
    from ..models import get_model

    return get_model(plan.signal_model or plan.model).final_state


def _stage_a_electron(plan: SamplePlan, s: int, rng: np.random.Generator, n: int
                      ) -> dict[str, np.ndarray]:
    """Stage A of a signal whose final state is an electron (``lfv_e``: μN → eX in flight).

    The beam muon (momentum, spot, divergence as for every event) converts at a depth drawn
    uniformly in the target (the conversion probability is the same at every depth of a thin
    target); it deposits a MIP in the ECAL depth before the vertex. The electron (a positron
    for the μ⁺ beam) carries ``(1 - x) E_mu`` with the sampler's x (x = 1 − E_e/E_0: the
    nuclear or hadronic recoil, invisible) and the sampler's angle θ. Its shower starts at the
    vertex: the fraction contained in the ECAL depth behind it (the longitudinal profile of
    :func:`~.detector.em_fraction`, PDG RPP eq. 34.36) is measured with the setup's ECAL
    resolution, the rest leaks forward into HCAL module 0 where the incoming direction crosses
    it (as for the showers of bremsstrahlung photons). There is no outgoing muon: no MS2 track,
    no trigger-counter, VETO or VHCAL hit.

    The event is recorded by the calorimeter trigger of :class:`~na64tools.config.LfvECuts`:
    ECAL energy ≥ ``trigger_ecal_min`` and no S_mu hit, with the counters' plateau efficiency
    ``trigger.efficiency`` (assumption: the same scintillator/PMT plateau), then the random veto
    of the upstream beam veto and ``signal.efficiency_correction``, as every signal event.
    The SM energy loss of the muon before the vertex is not simulated (it stays in the ECAL).
    """
    from ..config import LfvECuts

    beam, tgt, ecal = plan.beam, plan.target, plan.setup.ecal
    e0 = beam.energy
    t: dict[str, np.ndarray] = {}
    p_in = beam.draw_momentum(rng, n)
    e_mu0 = np.sqrt(p_in * p_in + MUON_MASS**2)
    t["p_in"], t["e_mu0"] = p_in, e_mu0
    t["pdg_in"] = np.full(n, MUON_PDGID, np.int32)
    t["cos_star"] = np.zeros(n)
    sampler = signal_sampler(plan.mass, plan.signal_model or plan.model, e0, tgt.material, plan.x_min)
    x_sig, theta = sampler.sample(n, rng)
    t["x_sig"], t["theta_x"] = x_sig, theta
    t["proc"], t["v"] = np.zeros(n, np.int32), np.zeros(n)
    e_el = np.maximum((1.0 - x_sig) * e_mu0, ELECTRON_MASS)
    t["e_out"] = e_el
    t["p_out"] = np.sqrt(e_el * e_el - ELECTRON_MASS**2)
    g = rng.standard_normal((5, n))
    x, y = beam.spot * g[0], beam.spot * g[1]
    tx, ty = beam.divergence * g[2], beam.divergence * g[3]
    t["x0"], t["y0"], t["tx0"], t["ty0"] = x.copy(), y.copy(), tx.copy(), ty.copy()
    t["x"], t["y"], t["tx"], t["ty"] = x, y, tx, ty
    t["psi"] = rng.uniform(0.0, 2.0 * np.pi, n)
    # the vertex depth, the muon's MIP before it, the shower contained behind the vertex
    # (preshower share: its profile) and its forward leakage
    depth = rng.random(n)
    T = tgt.radiation_lengths
    mip = mip_deposit(rng, n, ecal, 1.0) * depth
    cont = em_fraction(e_el, depth * T, 0.0, T, material=tgt.material, photon=False)
    shower = smear(e_el * cont, float(ecal.stochastic), g[4])
    scale = np.where(cont > 0, shower / np.maximum(e_el * cont, 1e-12), 0.0)
    f_ps = em_fraction(e_el, depth * T, 0.0, tgt.preshower_depth, material=tgt.material, photon=False)
    mip_ps = mip * np.clip(tgt.preshower_depth / np.maximum(depth * T, 1e-12), 0.0, 1.0)
    t["e_ecal"] = shower + mip
    t["e_ps"] = e_el * f_ps * scale + mip_ps
    geo = plan.geometry
    forward = geo.in_hcal(x + tx * geo.z_vertex, y + ty * geo.z_vertex, tx, ty, 0.0)
    t["e_leak"] = np.where(forward, e_el * (1.0 - cont), 0.0)
    t["depth"] = depth
    # the calorimeter trigger (no muon: the S4 x S_mu coincidence is never hit)
    fired = t["e_ecal"] >= LfvECuts().trigger_ecal_min
    fired &= rng.random(n) < float(plan.setup.trigger.efficiency)
    fired &= rng.random(n) >= plan.extra["random_veto"]
    fired &= rng.random(n) < float(plan.setup.signal.efficiency_correction)
    t["alive"] = plan.geometry.stations_alive(rng.random((plan.geometry.n_stations, n))).T.copy()
    t["trigger"] = fired
    t["stratum"] = np.full(n, s, np.int16)
    return t


# ==========================================================================================
# stage B: the rest of the event, for a subset of a block
# ==========================================================================================
class _Jagged:
    """Collects the entries of one jagged collection as (row, priority, fields) parts."""

    def __init__(self, fields: dict[str, type]):
        self.fields = fields
        self.rows: list[np.ndarray] = []
        self.prio: list[np.ndarray] = []
        self.data: dict[str, list[np.ndarray]] = {f: [] for f in fields}

    def add(self, rows: np.ndarray, priority: int, **values) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.rows.append(rows)
        self.prio.append(np.full(rows.size, priority, np.int64))
        for f in self.fields:
            self.data[f].append(np.broadcast_to(np.asarray(values[f]), rows.shape))

    def build(self, n_rows: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if not self.rows:
            return np.zeros(n_rows, np.int32), {f: np.zeros(0, t) for f, t in self.fields.items()}
        rows = np.concatenate(self.rows)
        key = rows * 16 + np.concatenate(self.prio)
        order = np.argsort(key, kind="stable")
        counts = np.bincount(rows, minlength=n_rows).astype(np.int32)
        content = {f: np.concatenate(self.data[f]).astype(t, copy=False)[order]
                   for f, t in self.fields.items()}
        return counts, content


def _stage_b(plan: SamplePlan, t: dict[str, np.ndarray], rows: np.ndarray, rng: np.random.Generator,
             out: dict[str, np.ndarray], jag: dict[str, _Jagged]) -> None:
    """Fill ``out`` (flat branches, at ``rows``) and ``jag`` for the events of truth ``t``."""
    setup = plan.setup
    ms2, tgt = plan.ms2, plan.target
    ecal, hcal, veto, vhcal = setup.ecal, setup.hcal, setup.veto, setup.vhcal
    n = rows.size
    if n == 0:
        return
    L = tgt.thickness
    x0cm = tgt.x0_cm
    T = tgt.radiation_lengths
    f_ps = tgt.preshower_depth / T
    n_hcal = int(round(float(hcal.modules)))
    strata = t["stratum"]
    kind = np.array([_KIND[st.kind] for st in plan.strata], np.int8)[strata]
    pn_mode = np.array([_PN_MODE[st.pn] for st in plan.strata], np.int8)[strata]
    is_hadron = (kind == _KIND["k"]) | (kind == _KIND["pi"])
    if final_state(plan) == "electron":   # the signal of lfv_e: no outgoing muon
        _stage_b_electron(plan, t, rows, rng, out, jag)
        return

    # --- incoming particle: spot, divergence, MS1
    _incoming(plan, t, rows, rng, out)
    tx0, ty0 = t["tx0"], t["ty0"]
    p_in = t["p_in"]

    # --- the muon entering the target (the kink of hadron decays is drawn in stage A)
    x, y, tx, ty = t["x"], t["y"], t["tx"], t["ty"]
    e_mu0 = t["e_mu0"]
    gen_x = t["v"].copy()
    idx_h = np.flatnonzero(is_hadron)
    nu_px = np.zeros(n)
    nu_py = np.zeros(n)
    nu_pz = np.zeros(n)
    nu_e = np.zeros(n)
    e_in = np.sqrt(p_in * p_in + MUON_MASS**2)
    if idx_h.size:
        for key in ("k", "pi"):
            sel = idx_h[kind[idx_h] == _KIND[key]]
            if not sel.size:
                continue
            h = HADRONS[key]
            phi = t["phi"][sel]
            cphi, sphi = np.cos(phi), np.sin(phi)
            e_in[sel] = np.sqrt(p_in[sel] ** 2 + h.mass**2)
            _, pt = h.decay(p_in[sel], t["cos_star"][sel])
            p_mu = np.sqrt(np.maximum(e_mu0[sel] ** 2 - MUON_MASS**2, 1e-12))
            nu_e[sel] = e_in[sel] - e_mu0[sel]
            nu_px[sel] = -pt * cphi
            nu_py[sel] = -pt * sphi
            nu_pz[sel] = p_in[sel] - np.sqrt(np.maximum(p_mu**2 - pt**2, 0.0))
            gen_x[sel] = 1.0 - e_mu0[sel] / e_in[sel]
    out["ECAL_x"][rows] = x
    out["ECAL_y"][rows] = y

    # --- signal: X emission and muon recoil
    p_out = t["p_out"]
    is_sig = kind == _KIND["signal"]
    idx_s = np.flatnonzero(is_sig)
    if idx_s.size:
        cpsi, spsi = np.cos(t["psi"][idx_s]), np.sin(t["psi"][idx_s])
        xs, th = t["x_sig"][idx_s], t["theta_x"][idx_s]
        e_x = xs * e_mu0[idx_s]
        p_x = np.sqrt(np.maximum(e_x**2 - plan.mass**2, 0.0))
        pt_x = p_x * np.sin(th)
        gen_x[idx_s] = xs

    # --- muon after the target (angles from stage A): MS2 track, if enough stations saw it
    geo = plan.geometry
    mtx, mty = t["mtx"], t["mty"]
    g = rng.standard_normal((6, n))
    hits2 = ms2.planes - t["missing"] - t["lost"]
    tail2 = t["tail_d"] != 0.0
    chi2 = chi2_per_ndf(rng, np.maximum(hits2, 0), tail2, ms2)
    xs1, ys1 = geo.at(ms2.distance, t["xv"], t["yv"], mtx, mty, 0.0)
    rec = np.flatnonzero((hits2 >= geo.min_hits) & t["two_sided"])
    jag["Track"].add(
        rows[rec], 0, p=t["p_meas"][rec], chi2=chi2[rec], nhits=hits2[rec],
        x=(xs1 + ms2.position_resolution * g[2])[rec], y=(ys1 + ms2.position_resolution * g[3])[rec],
        tx=(mtx + ms2.angle_resolution * g[4])[rec], ty=(mty + ms2.angle_resolution * g[5])[rec],
        charge=t["charge"][rec])

    # --- calorimeters: the muon's MIP deposits
    e_ps = mip_deposit(rng, n, ecal, f_ps)
    e_ecal = e_ps + mip_deposit(rng, n, ecal, 1.0 - f_ps)
    e_hcal = np.empty((n, n_hcal))
    for m in range(n_hcal):
        e_hcal[:, m] = np.where(t["in_hcal"], mip_deposit(rng, n, hcal), 0.0)
    e_veto = np.where(t["in_veto"], mip_deposit(rng, n, veto), 0.0)
    e_vhcal = np.where(t["in_vhcal"], mip_deposit(rng, n, vhcal), 0.0)

    proc = t["proc"]
    code = np.where(proc > 0, proc, 0).astype(np.int32)
    code[is_sig] = _CODE["signal"]
    for key in ("k", "pi"):
        code[kind == _KIND[key]] = _CODE[key]
    z_int = np.zeros(n)
    idx_int = np.flatnonzero(proc > 0)
    z_int[idx_int] = rng.uniform(0.0, L, idx_int.size)

    # --- EM showers of brems photons and pairs
    idx_em = np.flatnonzero((proc == SM_PROCESSES["brems"]) | (proc == SM_PROCESSES["pair"]))
    if idx_em.size:
        e_em = t["v"][idx_em] * e_mu0[idx_em]
        photon = proc[idx_em] == SM_PROCESSES["brems"]
        t0 = z_int[idx_em] / x0cm + np.where(photon, rng.standard_exponential(idx_em.size) * 9.0 / 7.0, 0.0)
        cont = em_fraction(e_em, t0, 0.0, T, material=tgt.material, photon=photon)
        ps = em_fraction(e_em, t0, 0.0, tgt.preshower_depth, material=tgt.material, photon=photon)
        vis = smear(e_em * cont, float(ecal.stochastic), rng.standard_normal(idx_em.size))
        scale = np.where(cont > 0, vis / np.maximum(e_em * cont, 1e-12), 0.0)
        e_ecal[idx_em] += vis
        e_ps[idx_em] += e_em * ps * scale
        # the leakage goes forward along the incoming direction (neutral: no magnetic kick) and
        # reaches the HCAL if that line crosses its front face
        fwd_em = geo.in_hcal(t["xv"][idx_em], t["yv"][idx_em], tx[idx_em], ty[idx_em], 0.0)
        e_hcal[idx_em, 0] += np.where(fwd_em, e_em * (1.0 - cont), 0.0)
        # GenPart: the photon, or the e-/e+ of the pair
        iph = idx_em[photon]
        ipa = idx_em[~photon]
        eph = e_em[photon]
        _add_gen(jag, rows[iph], 2, 22, eph, eph * tx[iph], eph * ty[iph], eph, 1)
        if ipa.size:
            epa = e_em[~photon]
            share = rng.random(ipa.size)
            for pdg, f, prio in ((11, share, 2), (-11, 1.0 - share, 3)):
                e = epa * f
                _add_gen(jag, rows[ipa], prio, pdg, e, e * tx[ipa], e * ty[ipa], e, 1)

    # --- photonuclear final state
    idx_pn = np.flatnonzero(proc == SM_PROCESSES["photonuclear"])
    if idx_pn.size:
        _photonuclear(plan, rng, t, idx_pn, pn_mode[idx_pn], z_int, e_mu0, x, y, tx, ty, rows,
                      e_ecal, e_ps, e_hcal, e_veto, e_vhcal, code, jag)

    # --- pile-up: extra beam muons in the readout window
    _pileup(plan, t, rows, rng, jag, e_ecal, e_hcal, e_veto, e_vhcal)

    _write_calorimeters(out, jag, rows, e_ecal, e_ps, e_hcal, e_veto, e_vhcal)
    out["Gen_process"][rows] = code
    out["Gen_mismeasured"][rows] = tail2
    out["Gen_x"][rows] = gen_x

    # --- GenPart: incoming particle, outgoing muon, X, neutrino
    _add_gen(jag, rows, 0, t["pdg_in"], e_in, p_in * tx0, p_in * ty0, p_in, 0)
    _add_gen(jag, rows, 1, MUON_PDGID, t["e_out"], p_out * mtx, p_out * mty, p_out, 1)
    if idx_s.size:
        _add_gen(jag, rows[idx_s], 4, _x_pdgid(plan), e_x, pt_x * cpsi, pt_x * spsi,
                 p_x * np.cos(th), 2)
    if idx_h.size:
        _add_gen(jag, rows[idx_h], 5, 14, nu_e[idx_h], nu_px[idx_h], nu_py[idx_h], nu_pz[idx_h], 2)


def _incoming(plan: SamplePlan, t: dict[str, np.ndarray], rows: np.ndarray,
              rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    """The incoming particle measured in MS1 (spot, divergence, momentum): the ``Beam_*``
    branches at ``rows``."""
    ms1 = plan.ms1
    n = rows.size
    g = rng.standard_normal((8, n))
    x0, y0, tx0, ty0 = t["x0"], t["y0"], t["tx0"], t["ty0"]
    miss1 = ms1.draw_missing(rng, n)
    d1 = ms1.draw_natural_tail(rng, miss1)
    p_in = t["p_in"]
    beam_p, _ = ms1.measure(p_in, 1, d1, ms1.resolution, g[4])
    hits1 = ms1.planes - miss1
    out["Beam_p"][rows] = beam_p
    out["Beam_nhits"][rows] = hits1
    out["Beam_chi2"][rows] = chi2_per_ndf(rng, hits1, d1 != 0.0, ms1)
    out["Beam_x"][rows] = x0 + ms1.position_resolution * g[5]
    out["Beam_y"][rows] = y0 + ms1.position_resolution * g[6]
    g2 = rng.standard_normal((2, n))
    out["Beam_tx"][rows] = tx0 + ms1.angle_resolution * g2[0]
    out["Beam_ty"][rows] = ty0 + ms1.angle_resolution * g2[1]


def _pileup(plan: SamplePlan, t: dict[str, np.ndarray], rows: np.ndarray, rng: np.random.Generator,
            jag: dict[str, _Jagged], e_ecal: np.ndarray, e_hcal: np.ndarray, e_veto: np.ndarray,
            e_vhcal: np.ndarray) -> None:
    """Extra beam muons in the readout window (Poisson, ``beam.pileup_mean``): their MS2 tracks
    and MIP deposits, added in place to the calorimeter arrays of the events ``rows``."""
    beam, ms2 = plan.beam, plan.ms2
    ecal, hcal, veto, vhcal = plan.setup.ecal, plan.setup.hcal, plan.setup.veto, plan.setup.vhcal
    n = rows.size
    n_hcal = e_hcal.shape[1]
    n_pu = rng.poisson(beam.pileup_mean, n) if beam.pileup_mean > 0 else np.zeros(n, np.int64)
    tot = int(n_pu.sum())
    if tot:
        ev = np.repeat(np.arange(n), n_pu)
        p_pu = beam.draw_momentum(rng, tot)
        miss = ms2.draw_missing(rng, tot)
        gp = rng.standard_normal((7, tot))
        pm, ch = ms2.measure(p_pu, 1, np.zeros(tot), ms2.resolution, gp[0])
        xp, yp = beam.spot * gp[1], beam.spot * gp[2]
        txp, typ = beam.divergence * gp[3], beam.divergence * gp[4]
        # through the geometric model, with the MS2 stations alive in the event
        geo = plan.geometry
        xpv, ypv = xp + txp * geo.z_vertex, yp + typ * geo.z_vertex
        bpu = geo.kick(p_pu)
        lost_pu, both_pu = geo.ms2_seen(xpv, ypv, txp, typ, bpu, t["alive"][ev].T)
        hits_pu = ms2.planes - miss - lost_pu
        chi2_pu = chi2_per_ndf(rng, np.maximum(hits_pu, 0), np.zeros(tot, bool), ms2)
        k = (hits_pu >= geo.min_hits) & both_pu
        xs_pu, ys_pu = geo.at(ms2.distance, xpv, ypv, txp, typ, 0.0)
        jag["Track"].add(rows[ev][k], 2, p=pm[k], chi2=chi2_pu[k], nhits=hits_pu[k], x=xs_pu[k],
                         y=ys_pu[k], tx=(txp + ms2.angle_resolution * gp[5])[k],
                         ty=(typ + ms2.angle_resolution * gp[6])[k], charge=ch[k])
        e_ecal += np.bincount(ev, mip_deposit(rng, tot, ecal), minlength=n)
        in_h = geo.in_hcal(xpv, ypv, txp, typ, bpu)
        for m in range(n_hcal):
            e_hcal[:, m] += np.bincount(ev, np.where(in_h, mip_deposit(rng, tot, hcal), 0.0), minlength=n)
        in_v = geo.in_veto(xpv, ypv, txp, typ)
        e_veto += np.bincount(ev, np.where(in_v, mip_deposit(rng, tot, veto), 0.0), minlength=n)
        in_vh = geo.in_vhcal_body(xpv, ypv, txp, typ)
        if in_vh.any():
            e_vhcal += np.bincount(ev[in_vh], mip_deposit(rng, int(in_vh.sum()), vhcal), minlength=n)


def _stage_b_electron(plan: SamplePlan, t: dict[str, np.ndarray], rows: np.ndarray,
                      rng: np.random.Generator, out: dict[str, np.ndarray],
                      jag: dict[str, _Jagged]) -> None:
    """Stage B of the electron final state (:func:`_stage_a_electron`): MS1, the ECAL shower and
    its HCAL leakage of stage A, empty VETO/VHCAL and no MS2 track except from pile-up muons, and
    GenPart: the incoming muon (status 0) and the electron (status 1, a positron for the μ⁺
    beam)."""
    n = rows.size
    n_hcal = int(round(float(plan.setup.hcal.modules)))
    _incoming(plan, t, rows, rng, out)
    out["ECAL_x"][rows] = t["x"]
    out["ECAL_y"][rows] = t["y"]
    e_ecal, e_ps = t["e_ecal"].copy(), t["e_ps"].copy()
    e_hcal = np.zeros((n, n_hcal))
    e_hcal[:, 0] = t["e_leak"]   # the shower's forward leakage (stage A)
    e_veto, e_vhcal = np.zeros(n), np.zeros(n)
    _pileup(plan, t, rows, rng, jag, e_ecal, e_hcal, e_veto, e_vhcal)
    _write_calorimeters(out, jag, rows, e_ecal, e_ps, e_hcal, e_veto, e_vhcal)
    out["Gen_process"][rows] = _CODE["signal"]
    out["Gen_mismeasured"][rows] = False
    out["Gen_x"][rows] = t["x_sig"]
    p_in, tx0, ty0 = t["p_in"], t["tx0"], t["ty0"]
    _add_gen(jag, rows, 0, t["pdg_in"], t["e_mu0"], p_in * tx0, p_in * ty0, p_in, 0)
    p_e, th, psi = t["p_out"], t["theta_x"], t["psi"]
    _add_gen(jag, rows, 1, _ELECTRON_PDGID, t["e_out"],
             p_e * (t["tx"] + np.sin(th) * np.cos(psi)), p_e * (t["ty"] + np.sin(th) * np.sin(psi)),
             p_e * np.cos(th), 1)


def _write_calorimeters(out, jag, rows: np.ndarray, e_ecal, e_ps, e_hcal, e_veto, e_vhcal) -> None:
    """Write the calorimeter energies of ``rows``: ECAL (and its preshower), VETO, VHCAL, and
    the HCAL modules (``e_hcal`` shaped (events, modules)) as the jagged ``HCAL`` collection."""
    n, n_hcal = e_hcal.shape
    out["ECAL_energy"][rows] = e_ecal
    out["ECAL_preshower"][rows] = e_ps
    out["VETO_energy"][rows] = e_veto
    out["VHCAL_energy"][rows] = e_vhcal
    mods = np.arange(n_hcal, dtype=np.int32)
    jag["HCAL"].add(np.repeat(rows, n_hcal), 0, energy=e_hcal.ravel(), module=np.tile(mods, n))


def _x_pdgid(plan: SamplePlan) -> int:
    """PDG id of X in GenPart: the model's (:class:`na64tools.models.Model` ``pdgid``)."""
    from ..models import get_model

    return get_model(plan.signal_model or plan.model).pdgid


def _add_gen(jag, rows, prio, pdg, e, px, py, pz, status) -> None:
    jag["GenPart"].add(rows, prio, pdgId=pdg, energy=e, px=px, py=py, pz=pz, status=status)


def _photonuclear(plan, rng, t, idx, mode, z_int, e_mu0, x_ecal, y_ecal, tx, ty, rows,
                  e_ecal, e_ps, e_hcal, e_veto, e_vhcal, code, jag) -> None:
    """Hadronic final state of the photonuclear interactions ``idx`` (see PhotonuclearModel)."""
    pn, tgt, setup = plan.pn, plan.target, plan.setup
    ecal, hcal, vhcal, veto = setup.ecal, setup.hcal, setup.vhcal, setup.veto
    L, lam = tgt.thickness, tgt.lambda_int
    n = idx.size
    nu = t["v"][idx] * e_mu0[idx]
    zi = z_int[idx]
    forced = mode >= 2
    z = pn.draw_z(rng, n)
    neutral = rng.random(n) < pn.neutral_fraction
    survive = rng.random(n) < np.exp(-(L - zi) / lam)
    # a leading hadron that left the ECAL is lost (HCAL gap or punch-through), either charge
    lost = survive & (rng.random(n) < pn.escape_probability)
    # exclude the escape configurations where asked (v >= V_ESC of the photonuclear_hard strata)
    excl = (mode == 1) & (t["v"][idx] >= V_ESC)
    todo = np.flatnonzero(excl & lost & (z > Z_WIDE))
    while todo.size:
        k = todo.size
        z[todo] = pn.draw_z(rng, k)
        zi[todo] = rng.uniform(0.0, L, k)
        neutral[todo] = rng.random(k) < pn.neutral_fraction
        survive[todo] = rng.random(k) < np.exp(-(L - zi[todo]) / lam)
        lost[todo] = survive[todo] & (rng.random(k) < pn.escape_probability)
        todo = todo[lost[todo] & (z[todo] > Z_WIDE)]
    fi = np.flatnonzero(forced)
    if fi.size:
        # 2: neutral, z > Z_ESC; 3: neutral, Z_WIDE < z < Z_ESC; 4: charged, z > Z_WIDE
        narrow = mode[fi] == 2
        z[fi] = np.where(narrow, pn.draw_z(rng, fi.size, Z_ESC), pn.draw_z(rng, fi.size, Z_WIDE, Z_ESC))
        ch = mode[fi] == 4
        z[fi[ch]] = pn.draw_z(rng, int(ch.sum()), Z_WIDE)
        zi[fi] = pn.draw_depth_surviving(rng, fi.size, tgt)
        survive[fi] = lost[fi] = True
        neutral[fi] = ~ch
    escaped = neutral & lost
    z_int[idx] = zi
    e_lead = z * nu
    # soft hadronic system (+ the leading hadron if it interacted in the ECAL)
    e_soft = (1.0 - z) * nu + np.where(survive, 0.0, e_lead)
    t_rem = (L - zi) / lam
    leak = np.exp(-t_rem * rng.standard_exponential(n))
    e_in_ecal = e_soft * (1.0 - leak)
    e_leak = e_soft * leak
    vis = smear(e_in_ecal * float(ecal.hadron_response), float(ecal.stochastic), rng.standard_normal(n))
    z_ps = tgt.preshower_depth * tgt.x0_cm
    f_ps = np.where(zi < z_ps, -np.expm1(-(z_ps - zi) / lam), 0.0)
    e_ecal[idx] += vis
    e_ps[idx] += vis * f_ps
    wide = pn.wide_fraction
    e_vhcal[idx] += smear(e_leak * wide * float(vhcal.hadron_response), float(vhcal.stochastic),
                          rng.standard_normal(n))
    # forward leakage and a neutral leading hadron go along the incoming direction (transverse
    # momenta neglected) and reach the HCAL where that straight line crosses its front face
    geo = plan.geometry
    straight_in = geo.in_hcal(x_ecal[idx] + tx[idx] * geo.z_vertex, y_ecal[idx] + ty[idx] * geo.z_vertex,
                              tx[idx], ty[idx], 0.0)
    fwd = e_leak * (1.0 - wide) * (1.0 - pn.hcal_gap) * float(hcal.hadron_response) * straight_in
    # charged hadrons leaking through the VETO
    n_ch = rng.poisson(pn.charged_per_gev * e_leak)
    # the leading hadron leaving the ECAL
    charged_out = survive & ~neutral
    n_ch = n_ch + charged_out
    u = rng.random(n)
    has = n_ch > 0
    e_veto[idx[has]] += landau_quantile(u[has], n_ch[has] * float(veto.mip), n_ch[has] * float(veto.mip_width))
    # HCAL: forward leakage in module 0; the leading hadron where it interacts
    e_hcal[idx, 0] += smear(fwd, float(hcal.stochastic), rng.standard_normal(n))
    n_mod = e_hcal.shape[1]
    depth = pn.hcal_depth
    # a leading hadron that left the ECAL and was not lost (gap or punch-through, the escape
    # probability; drawn above for neutrals, here for charged ones) interacts in HCAL module m
    # with P(m) ~ exp(-m D)(1 - exp(-D)), normalised over the modules
    u2 = rng.random(n)
    p_int = np.exp(-depth * np.arange(n_mod)) * -np.expm1(-depth)
    p_int = p_int / p_int.sum()
    module = np.minimum(np.searchsorted(np.cumsum(p_int), u2, side="right"), n_mod - 1)
    lead_vis = smear(e_lead * float(hcal.hadron_response), float(hcal.stochastic), rng.standard_normal(n))
    charged_lost = charged_out & lost
    deposit = survive & ~escaped & ~charged_lost & (straight_in | ~neutral)
    for m in range(n_mod):
        sel = deposit & (module == m)
        e_hcal[idx[sel], m] += lead_vis[sel]
    # an MS2 track for a charged leading hadron
    ci = np.flatnonzero(charged_out)
    if ci.size:
        # the hadron goes along the incoming direction (its transverse momentum is neglected)
        g = rng.standard_normal((5, ci.size))
        ms2 = plan.ms2
        p_h = np.sqrt(np.maximum(e_lead[ci] ** 2 - _PI_MASS**2, 1e-6))
        pm, ch = ms2.measure(p_h, 1, np.zeros(ci.size), ms2.resolution, g[0])
        r = idx[ci]
        # through the geometric model: a soft hadron is swept out of the downstream stations
        xv, yv = x_ecal[r] + tx[r] * geo.z_vertex, y_ecal[r] + ty[r] * geo.z_vertex
        lost, both = geo.ms2_seen(xv, yv, tx[r], ty[r], geo.kick(p_h), t["alive"][r].T)
        hits = ms2.planes - ms2.draw_missing(rng, ci.size) - lost
        chi2 = chi2_per_ndf(rng, np.maximum(hits, 0), np.zeros(ci.size, bool), ms2)
        k = (hits >= geo.min_hits) & both
        jag["Track"].add(
            rows[r][k], 1, p=pm[k], chi2=chi2[k], nhits=hits[k],
            x=(x_ecal[r] + tx[r] * ms2.distance + ms2.position_resolution * g[1])[k],
            y=(y_ecal[r] + ty[r] * ms2.distance + ms2.position_resolution * g[2])[k],
            tx=(tx[r] + ms2.angle_resolution * g[3])[k], ty=(ty[r] + ms2.angle_resolution * g[4])[k],
            charge=ch[k])
    esc = idx[escaped]
    code[esc[code[esc] == _CODE["photonuclear"]]] = _CODE["escape"]  # not for signal or decays
    pdg = np.where(neutral, 2112, 211)
    mass = np.where(neutral, _N_MASS, _PI_MASS)
    e_h = np.maximum(e_lead, mass)
    p_h = np.sqrt(e_h**2 - mass**2)
    _add_gen(jag, rows[idx], 2, pdg, e_h, p_h * tx[idx], p_h * ty[idx], p_h, 1)


# ==========================================================================================
# a block
# ==========================================================================================
class Block(dict):
    """The Events branches of the kept events of one block (flat numpy arrays and, for each
    collection, ``(counts, {field: content})``)."""


def generate_block(plan: SamplePlan, block: int, *, triggered_only: bool = True) -> Block:
    """Generate block ``block`` of ``plan``; keep the triggered events (or all).

    Parameters
    ----------
    plan : SamplePlan
        The sample (:func:`make_plan`).
    block : int
        The block number (blocks of :data:`~na64tools.sim.plan.BLOCK_SIZE` events).
    triggered_only : bool
        Keep only the triggered events.

    Returns
    -------
    Block
        The branches of the kept events, in event-number order.
    """
    _prepare(plan)
    lo, hi = plan.block_range(block)
    lay = plan.layout_of(block)
    # stage A per stratum; split into triggered (stream 0 of stage B) and other events (stream 1)
    groups: dict[bool, list[tuple[np.ndarray, dict[str, np.ndarray]]]] = {True: [], False: []}
    for s in range(len(plan.strata)):
        pos = np.flatnonzero(lay == s)
        if not pos.size:
            continue
        ts = _stage_a(plan, s, _rng(plan, block, 1 + s), pos.size)
        trig = ts["trigger"]
        for flag in ((True,) if triggered_only else (True, False)):
            sel = np.flatnonzero(trig == flag)
            if sel.size:
                groups[flag].append((pos[sel], {k: a[sel] for k, a in ts.items()}))
    merged = {}
    for flag, parts in groups.items():
        if parts:
            merged[flag] = (np.concatenate([p for p, _ in parts]),
                            {k: np.concatenate([t[k] for _, t in parts]) for k in parts[0][1]})
    all_pos = np.concatenate([m[0] for m in merged.values()]) if merged else np.zeros(0, np.int64)
    n = all_pos.size
    order = np.argsort(all_pos, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    out = {k: np.zeros(n, t) for k, t in FLAT_BRANCHES.items()}
    jag = {c: _Jagged(f) for c, f in COLLECTIONS.items()}
    stratum = np.zeros(n, np.int16)
    trig_out = np.zeros(n, bool)
    offset = 0
    for flag, (pos, truth) in merged.items():
        rows = rank[offset:offset + pos.size]
        offset += pos.size
        _stage_b(plan, truth, rows, _rng(plan, block, 0 if flag else 1), out, jag)
        stratum[rows] = truth["stratum"]
        trig_out[rows] = flag
    out["event"][:] = lo + all_pos[order]
    out["spill"][:] = block + 1
    out["run"][:] = 1
    # the scattered-muon trigger bit; an electron final state is written by the calorimeter
    # trigger (stage A), the S4 x S_mu coincidence never fires on it
    out["Trigger_scattered"][:] = trig_out if final_state(plan) == "muon" else False
    out["genWeight"][:] = plan.weights[stratum]
    blk = Block(out)
    for c, j in jag.items():
        blk[c] = j.build(n)
    return blk


def _prepare(plan: SamplePlan) -> None:
    """Fill ``plan.extra`` with the derived numbers stage A needs (once per plan)."""
    if "loss_probabilities" in plan.extra:
        return
    from .plan import loss_probabilities

    plan.extra["loss_probabilities"] = loss_probabilities(plan.setup)
    plan.extra["escape_configuration"] = plan.pn.forced_probability(plan.target, Z_WIDE, charge="any")
    plan.extra["random_veto"] = plan.geometry.random_veto_probability(plan.beam.pileup_mean, plan.beam.spot)


# ==========================================================================================
# concatenation and the public generate()
# ==========================================================================================
def concat_blocks(blocks: list[Block]) -> Block:
    """Concatenate blocks (in order) into one."""
    out = Block()
    for k in FLAT_BRANCHES:
        out[k] = np.concatenate([b[k] for b in blocks]) if blocks else np.zeros(0, FLAT_BRANCHES[k])
    for c, fields in COLLECTIONS.items():
        counts = np.concatenate([b[c][0] for b in blocks]) if blocks else np.zeros(0, np.int32)
        content = {f: (np.concatenate([b[c][1][f] for b in blocks]) if blocks else np.zeros(0, t))
                   for f, t in fields.items()}
        out[c] = (counts, content)
    return out


def slice_block(b: Block, start_event: int, stop_event: int) -> Block:
    """Events of ``b`` with event number in ``[start_event, stop_event)``."""
    ev = b["event"]
    i0, i1 = np.searchsorted(ev, [start_event, stop_event])
    out = Block({k: b[k][i0:i1] for k in FLAT_BRANCHES})
    for c in COLLECTIONS:
        counts, content = b[c]
        off = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        out[c] = (counts[i0:i1], {f: a[off[i0]:off[i1]] for f, a in content.items()})
    return out


def events_range(plan: SamplePlan, start: int, stop: int, *, triggered_only: bool = True,
                 progress: Callable[[int], None] | None = None) -> Block:
    """The events with numbers in ``[start, stop)``, generated block by block."""
    blocks = []
    if stop > start:
        for b in range(start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1):
            blk = generate_block(plan, b, triggered_only=triggered_only)
            lo, hi = plan.block_range(b)
            if lo < start or hi > stop:
                blk = slice_block(blk, start, stop)
            blocks.append(blk)
            if progress is not None:
                progress(min(hi, stop) - max(lo, start))
    return concat_blocks(blocks)


def to_arrays(b: Block) -> dict[str, object]:
    """Branch dict as uproot would read it: flat numpy arrays, jagged awkward arrays and
    ``n<Coll>`` counters."""
    out: dict[str, object] = {k: b[k] for k in FLAT_BRANCHES}
    for c in COLLECTIONS:
        counts, content = b[c]
        out[f"n{c}"] = counts.astype(np.int32)
        for f, a in content.items():
            out[f"{c}_{f}"] = ak.unflatten(a, counts)
    return out


def generate(
    sample: str,
    *,
    setup=None,
    model: str | object = "vector",
    mass: float | None = None,
    coupling: float | None = None,
    mot: float | None = None,
    events: int | None = None,
    seed: int = 0,
    x_min: float = 0.0,
    triggered_only: bool = False,
    start: int = 0,
    stop: int | None = None,
) -> dict[str, object]:
    """Generate events without writing them: a dict of ``Events`` branches.

    Parameters are those of :func:`na64tools.sim.simulate`; ``start``/``stop`` select a range of
    event numbers of the sample (default: all), ``triggered_only`` keeps only the events the
    scattered-muon trigger writes (default: all generated events, with ``Trigger_scattered``
    telling which fire).

    Parameters
    ----------
    sample : {"signal", "background"}
        The sample.
    setup : Setup or path, optional
        Setup description or its YAML file (default: the shipped 2022 setup).
    model : str or Model
        Signal only: the X model (a name of :mod:`na64tools.models`, e.g. ``vector``,
        ``dark_photon``, ``scalar``, or a :class:`~na64tools.models.Model`).
    mass : float, optional
        Signal only: X mass [GeV].
    coupling : float, optional
        Signal only: the coupling (default 1e-4).
    mot : float, optional
        Muons on target the sample stands for [MOT] (background default: the setup's run).
    events : int, optional
        Generated events (before the trigger).
    seed : int
        Random seed (>= 0).
    x_min : float
        Signal only: generate X with x = E_X/E_0 > x_min.
    triggered_only : bool
        Keep only the events the trigger writes.
    start, stop : int
        Range of event numbers of the sample (``stop`` default: all).

    Returns
    -------
    dict
        Branch name -> numpy array (flat branches, ``n<Coll>`` counters) or awkward array
        (``Coll_field``), as ``uproot`` reads them from a written file; ``run`` is 1. The
        triggered events are identical to those :func:`~na64tools.sim.simulate` writes.
    """
    plan = make_plan(sample, setup=setup, model=model, mass=mass, coupling=coupling, mot=mot,
                     events=events, seed=seed, x_min=x_min)
    stop = plan.n_events if stop is None else min(int(stop), plan.n_events)
    start = max(int(start), 0)
    return to_arrays(events_range(plan, start, stop, triggered_only=triggered_only))
