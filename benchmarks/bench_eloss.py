"""Benchmark: build the SM energy-loss samplers and draw 1e6 values of v from each.

Figure: for each process (brems, pair, photonuclear; lead, E = 160 GeV, v > 1e-3) the time to
build an :class:`~na64tools.physics.eloss.EnergyLossSampler` and draw 1e6 values, divided by
the time numpy takes for ``rng.random(1_000_000)`` in the same run (best of several repeats
for both, so that a busy machine affects numerator and denominator alike).

Target: at most 25x the uniform baseline (a few tens of ms on a laptop, i.e. the
simulation can draw 1e6 energy losses in well under a second), and under 1 s in absolute
terms. Run: ``python benchmarks/bench_eloss.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Results  # noqa: E402

from na64tools.physics.eloss import PROCESSES, EnergyLossSampler  # noqa: E402

N = 1_000_000
REPEATS = 7
E_GEV = 160.0
TARGET = "Pb"
V_MIN = 1e-3
RATIO_TARGET = 25.0
ABS_TARGET_S = 1.0


def _best(fn, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    rng = np.random.default_rng(12345)
    baseline = _best(lambda: rng.random(N))
    print(f"baseline rng.random({N:.0e}): {baseline * 1e3:.2f} ms")
    worst_ratio = 0.0
    worst_abs = 0.0
    for process in PROCESSES:
        t_build = _best(lambda p=process: EnergyLossSampler(p, E_GEV, TARGET, v_min=V_MIN), 3)
        sampler = EnergyLossSampler(process, E_GEV, TARGET, v_min=V_MIN)
        t_draw = _best(lambda s=sampler: s.sample(N, rng))
        total = t_build + t_draw
        ratio = total / baseline
        worst_ratio = max(worst_ratio, ratio)
        worst_abs = max(worst_abs, total)
        print(
            f"{process:>12s}: build {t_build * 1e3:7.2f} ms, draw {N:.0e} {t_draw * 1e3:7.2f} ms, "
            f"(build+draw)/baseline = {ratio:6.1f}  [{sampler}]"
        )
    res = Results()
    res.add("eloss_build_draw_1e6_s", worst_abs, "s", ratio=worst_ratio, baseline="numpy_rng_random_1e6",
            cores=1, target=f"ratio<={RATIO_TARGET:g}", passed=worst_ratio <= RATIO_TARGET)
    res.add("eloss_build_draw_1e6_abs_s", worst_abs, "s", cores=1, target=f"<{ABS_TARGET_S:g}s",
            passed=worst_abs <= ABS_TARGET_S)
    return res.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
