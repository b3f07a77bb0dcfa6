"""Benchmark of the signal cross-section and the (x, theta) sampler.

Figures (each also as a ratio to its target and to a baseline measured in the same run):

- time of one total cross-section (WW, vector, 160 GeV on Pb), uncached; target < 50 ms;
- time of a 100-mass scan (5 MeV - 5 GeV, x > 0.5, as for a limit plot); target < 2 s;
- time to draw 1e6 (x, theta) pairs from a built sampler (best of 3); target < 1 s.

Baseline: the same total cross-section (dark photon, eps = 1, m = 0.1 GeV) by a plain nested
adaptive integration with scipy (``scipy.integrate.dblquad`` in x and ln theta of the literal
double-differential formula), and its agreement with ours.

Run: ``python benchmarks/bench_cross_section.py``. Ends with ``RESULT`` lines.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import integrate

from na64tools.physics import ALPHA, GEV2_TO_PB, M_MU, cross_section, photon_flux, x_range
from na64tools.physics.cross_section import XThetaSampler, _sigma_unit

E0, Z, A = 160.0, 82.0, 207.2
TARGET_PER_MASS_S = 0.050
TARGET_SCAN_S = 2.0
TARGET_SAMPLE_S = 1.0


def baseline_dblquad(m: float) -> float:
    """sigma(eps=1) [pb] by scipy dblquad of the literal WW double-differential (x, ln theta)."""
    tmax = m * m + M_MU**2

    def f(lt: float, x: float) -> float:
        th = math.exp(lt)
        u = -x * E0 * E0 * th * th - m * m * (1 - x) / x - M_MU**2 * x
        tmin = u * u / (4 * E0 * E0 * (1 - x) ** 2)
        if tmin >= tmax:
            return 0.0
        amp = 2 * (2 - 2 * x + x * x) / (1 - x) + 4 * (m * m + 2 * M_MU**2) / u**2 * (
            u * x + m * m * (1 - x) + M_MU**2 * x * x
        )
        chi = photon_flux(tmin, tmax, Z, A)
        return th * math.sin(th) * math.sqrt(x * x - m * m / E0**2) * (1 - x) / u**2 * amp * chi

    lo, hi = x_range(m, energy=E0)
    val, _ = integrate.dblquad(
        f, lo, hi, lambda x: math.log(1e-9), lambda x: math.log(0.3), epsrel=1e-6, epsabs=0.0
    )
    return GEV2_TO_PB * 2 * ALPHA**3 * E0**2 * val


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> int:
    m_ref = 0.1
    _sigma_unit.cache_clear()
    ref, t_base = timed(baseline_dblquad, m_ref)
    ours, t_ours_ref = timed(cross_section, m_ref, 1.0, model="dark_photon")
    print(f"baseline scipy dblquad, m = {m_ref} GeV: {t_base:.3f} s, sigma = {ref:.6e} pb")
    print(f"na64tools cross_section, same point:  {t_ours_ref * 1e3:.2f} ms, sigma = {ours:.6e} pb")
    print(f"  agreement ours/baseline - 1 = {ours / ref - 1:+.2e}")

    # one mass, uncached: median over distinct masses
    per = []
    for m in np.geomspace(0.007, 3.0, 15):
        _sigma_unit.cache_clear()
        _, dt = timed(cross_section, float(m), 1e-4)
        per.append(dt)
    t_mass = float(np.median(per))
    print(
        f"one cross-section (median of 15 masses): {t_mass * 1e3:.2f} ms "
        f"= {t_mass / TARGET_PER_MASS_S:.3f} x target (50 ms), "
        f"{t_base / t_mass:.0f}x faster than the baseline"
    )

    # 100-mass scan as for a limit plot (x > 0.5)
    _sigma_unit.cache_clear()
    masses = np.geomspace(0.005, 5.0, 100)
    t0 = time.perf_counter()
    sig = [cross_section(float(m), 1e-4, x_min=0.5) for m in masses]
    t_scan = time.perf_counter() - t0
    assert all(s > 0 for s in sig)
    print(
        f"100-mass scan: {t_scan:.3f} s = {t_scan / TARGET_SCAN_S:.3f} x target (2 s), "
        f"= {t_scan / t_base:.2f} x one baseline evaluation"
    )

    # sampler
    sampler, t_build = timed(XThetaSampler, m_ref, x_min=0.5)
    rng = np.random.default_rng(1)
    sampler.sample(1000, rng)
    t_sample = min(timed(sampler.sample, 1_000_000, rng)[1] for _ in range(3))  # best of 3
    print(
        f"sampler: build {t_build * 1e3:.1f} ms, 1e6 draws {t_sample:.3f} s "
        f"= {t_sample / TARGET_SAMPLE_S:.3f} x target (1 s)"
    )

    ok_acc = abs(ours / ref - 1) < 1e-4
    print(
        f"RESULT cross_section_vs_dblquad_reldiff {abs(ours / ref - 1):.2e} 1e-4 {'PASS' if ok_acc else 'FAIL'}"
    )
    print(
        f"RESULT cross_section_one_mass_ms {t_mass * 1e3:.2f} {TARGET_PER_MASS_S * 1e3:.0f} "
        f"{'PASS' if t_mass < TARGET_PER_MASS_S else 'FAIL'}"
    )
    print(
        f"RESULT cross_section_scan100_s {t_scan:.3f} {TARGET_SCAN_S:.0f} "
        f"{'PASS' if t_scan < TARGET_SCAN_S else 'FAIL'}"
    )
    print(
        f"RESULT sampler_1e6_draws_s {t_sample:.3f} {TARGET_SAMPLE_S:.0f} "
        f"{'PASS' if t_sample < TARGET_SAMPLE_S else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
