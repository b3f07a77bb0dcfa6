"""Benchmark: a 100-mass coupling-limit scan (observed + expected band, exact hybrid CLs) against one pyhf limit.

Cases: the 2022 NA64μ point (n_obs = 0, b = 0.07 ± 0.03, 10 % signal uncertainty) and a
background-dominated point (n_obs = 12, b = 10 ± 3). The event limit of a counting experiment
does not depend on the mass (only the signal yield does), so a user with pyhf would compute one
limit and scale the coupling at each mass: the baseline is therefore one pyhf limit
(``pyhf.infer.intervals.upper_limits.upper_limit``, asymptotic ``qtilde`` CLs, 61-point scan;
:func:`na64tools.stats.limits.upper_limit_pyhf`) of the same counting experiment, in the same
run, on the same single core. The per-mass cost of the scan (scan time / 100) is printed too.
Methods differ (pyhf asymptotic, na64tools exact hybrid CLs with the band), so the ratio is a
cost comparison, not an identity check.

Target: the 100-mass scan under 1 s.

Run: ``python benchmarks/bench_limits.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Results  # noqa: E402

from na64tools.stats import limits  # noqa: E402

N_MASS = 100
ABS_TARGET_S = 1.0
CASES = {
    "2022": dict(n_obs=0, background=0.07, background_uncertainty=0.03, signal_uncertainty=0.1),
    "bkg_dominated": dict(n_obs=12, background=10.0, background_uncertainty=3.0, signal_uncertainty=0.1),
}


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="repeats of the scan (the best counts)")
    args = ap.parse_args(argv)
    masses = np.geomspace(0.005, 2.0, N_MASS)  # GeV
    yields = 1e3 * np.exp(-masses / 0.3)  # N_sig at g_ref, any smooth shape
    g_ref = 1e-3
    try:
        import pyhf  # noqa: F401
        have_pyhf = True
    except ImportError:
        have_pyhf = False
        print("pyhf not installed (pip install 'na64tools[limits]'): no baseline, ratios not measured")
    res = Results()
    for name, kw in CASES.items():
        exp = limits.CountingExperiment(**kw)
        t_scan = _best(lambda exp=exp: limits.coupling_limit(masses, yields, g_ref, exp), args.repeat)
        lim = limits.coupling_limit(masses, yields, g_ref, exp)
        t_pyhf = None
        if have_pyhf:
            pkw = {k: kw[k] for k in ("n_obs", "background", "background_uncertainty")}
            t_pyhf = _best(lambda pkw=pkw: limits.upper_limit_pyhf(**pkw), 1)
            s_pyhf = limits.upper_limit_pyhf(**pkw)
        print(f"{name}: scan of {N_MASS} masses {t_scan * 1e3:.1f} ms ({t_scan / N_MASS * 1e3:.3f} ms per mass), "
              f"s_up = {float(lim.events_observed):.3f} events"
              + (f"; one pyhf limit {t_pyhf:.2f} s, s_up(pyhf, no signal uncertainty) = {s_pyhf:.3f}"
                 if t_pyhf else ""))
        res.add(f"limits_scan_{N_MASS}_masses_s_{name}", t_scan, "s",
                ratio=t_scan / t_pyhf if t_pyhf else None,
                baseline="pyhf_asymptotic_one_limit" if t_pyhf else None, cores=1,
                target=f"<{ABS_TARGET_S:g}s", passed=t_scan < ABS_TARGET_S)
        res.add(f"limits_per_mass_ms_{name}", t_scan / N_MASS * 1e3, "ms", cores=1)
    return res.exit_code()


if __name__ == "__main__":
    sys.exit(main())
