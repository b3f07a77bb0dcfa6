"""Benchmark: the signal cross-section σ(m) against scipy integration of the same formula, and the (x, θ) sampler.

Baseline (same run, same single core): the same total WW cross-section (vector L_mu-L_tau Z',
g = 1e-4, 160 GeV on Pb, x > 0) computed by scipy: a nested adaptive ``scipy.integrate.quad``
in x and ln θ of the same double-differential formula and the same photon flux
(:func:`na64tools.physics.photon_flux`), with break points at the threshold, the 1/x rise and
the x -> 1 peak (what one would write with scipy for this integrand). Both are timed at the same
masses (uncached); the figure is the time ratio and the agreement of the two values.

Also timed, without a baseline: a 100-mass scan with x > 0.5 (as for a limit plot) and 1e6
(x, θ) draws from a built sampler.

Target: one cross-section under 50 ms; the 100-mass scan under 2 s; 1e6 draws under 1 s;
agreement with scipy within 1e-4.

Run: ``python benchmarks/bench_cross_section.py``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import integrate

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Results  # noqa: E402

from na64tools.physics import ALPHA, GEV2_TO_PB, M_MU, cross_section, photon_flux, x_range  # noqa: E402
from na64tools.physics.cross_section import XThetaSampler, _sigma_unit  # noqa: E402

E0, Z, A = 160.0, 82.0, 207.2
G = 1e-4
TARGET_PER_MASS_S = 0.050
TARGET_SCAN_S = 2.0
TARGET_SAMPLE_S = 1.0
TARGET_AGREEMENT = 1e-4


def scipy_sigma(m: float, g: float = G) -> float:
    """σ [pb] of the vector model by nested scipy quad (x, ln θ) of the WW double-differential."""
    tmax = m * m + M_MU**2

    def f(lt: float, x: float) -> float:
        th = math.exp(lt)
        u = -x * E0 * E0 * th * th - m * m * (1 - x) / x - M_MU**2 * x
        tmin = u * u / (4 * E0 * E0 * (1 - x) ** 2)
        if tmin >= tmax:
            return 0.0
        amp = 2 * (2 - 2 * x + x * x) / (1 - x) + 4 * (m * m + 2 * M_MU**2) / u**2 * (
            u * x + m * m * (1 - x) + M_MU**2 * x * x)
        if amp <= 0:
            return 0.0
        chi = float(photon_flux(tmin, tmax, Z, A))
        return th * math.sin(th) * math.sqrt(x * x - m * m / E0**2) * (1 - x) / u**2 * amp * chi

    def inner(x: float) -> float:
        l0 = math.log(math.sqrt((m * m * (1 - x) / x + M_MU**2 * x) / (x * E0 * E0)))
        pts = [l0 + k for k in (-2.0, 0.0, 2.0) if l0 + k < math.log(0.3)]
        return integrate.quad(f, l0 - 12, math.log(0.3), args=(x,), points=pts, limit=200, epsrel=1e-8)[0]

    lo, hi = x_range(m, energy=E0)
    pts = [p for p in (*lo * np.geomspace(1.001, 0.5 / lo, 10), *(1 - np.geomspace(0.5, 1 - hi, 10)[1:-1]))
           if lo < p < hi]
    val = integrate.quad(inner, lo, hi, points=pts, limit=300, epsrel=1e-7)[0]
    return GEV2_TO_PB * 2 * (g * g / (4 * math.pi)) * ALPHA**2 * E0**2 * val


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--masses", default="0.01,0.1,1.0", help="masses [GeV] of the baseline comparison")
    args = ap.parse_args(argv)
    try:
        masses = [float(m) for m in args.masses.split(",")]
    except ValueError:
        ap.error(f"--masses {args.masses!r}: expected comma-separated numbers")
    t_ours, t_base, worst = [], [], 0.0
    for m in masses:
        _sigma_unit.cache_clear()
        ours, dt = timed(cross_section, m, G, model="vector", energy=E0, target="Pb")
        ref, db = timed(scipy_sigma, m)
        t_ours.append(dt)
        t_base.append(db)
        worst = max(worst, abs(ours / ref - 1))
        print(f"m = {m:g} GeV: na64tools {dt * 1e3:.2f} ms, scipy nested quad {db:.2f} s; "
              f"sigma {ours:.6e} pb vs {ref:.6e} pb ({ours / ref - 1:+.1e})", flush=True)
    t_mass, t_ref = float(np.median(t_ours)), float(np.median(t_base))

    _sigma_unit.cache_clear()
    scan = np.geomspace(0.005, 5.0, 100)
    t0 = time.perf_counter()
    sig = [cross_section(float(m), G, x_min=0.5) for m in scan]
    t_scan = time.perf_counter() - t0
    assert all(s > 0 for s in sig)

    sampler, t_build = timed(XThetaSampler, 0.1, x_min=0.5)
    rng = np.random.default_rng(1)
    sampler.sample(1000, rng)
    t_sample = min(timed(sampler.sample, 1_000_000, rng)[1] for _ in range(3))
    print(f"100-mass scan (x > 0.5) {t_scan:.3f} s; sampler build {t_build * 1e3:.1f} ms, 1e6 draws {t_sample:.3f} s")

    res = Results()
    res.add("cross_section_one_mass_s", t_mass, "s", ratio=t_mass / t_ref,
            baseline="scipy_nested_quad_same_formula", cores=1, target=f"<{TARGET_PER_MASS_S:g}s",
            passed=t_mass < TARGET_PER_MASS_S)
    res.add("cross_section_reldiff_vs_scipy", worst, "1", baseline="scipy_nested_quad_same_formula", cores=1,
            target=f"<{TARGET_AGREEMENT:g}", passed=worst < TARGET_AGREEMENT)
    res.add("cross_section_scan100_s", t_scan, "s", cores=1, target=f"<{TARGET_SCAN_S:g}s",
            passed=t_scan < TARGET_SCAN_S)
    res.add("sampler_1e6_draws_s", t_sample, "s", cores=1, target=f"<{TARGET_SAMPLE_S:g}s",
            passed=t_sample < TARGET_SAMPLE_S)
    return res.exit_code()


if __name__ == "__main__":
    sys.exit(main())
