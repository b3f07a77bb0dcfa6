"""The public counting model: CountingExperiment is what upper_limit, expected_limits,
coupling_limit and project take; the old call forms give the same numbers with a
DeprecationWarning; scaled(k) scales the background with the exposure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from na64tools.stats import limits as L
from na64tools.stats.limits import CountingExperiment

E2022 = CountingExperiment(0, 0.07, 0.03, 0.142)  # PRL 132 (2024) 211803; 14.2 % signal syst.
E_BKG = CountingExperiment(7, 4.0, 1.0, 0.1)


def _old(func, *args, **kwargs):
    with pytest.warns(DeprecationWarning, match="CountingExperiment"):
        return func(*args, **kwargs)


def test_n_obs_zero_no_signal_uncertainty_is_ln10():
    """Textbook value: n_obs = 0 gives -ln(0.1) = 2.303 events at 90 % CL for any background."""
    assert L.upper_limit(CountingExperiment(0, 0.07, 0.03)) == pytest.approx(math.log(10), rel=1e-9)


@pytest.mark.parametrize("e", [E2022, E_BKG])
def test_old_and_new_forms_agree(e):
    old = dict(background_uncertainty=e.background_uncertainty, signal_uncertainty=e.signal_uncertainty)
    assert L.upper_limit(e) == _old(L.upper_limit, e.n_obs, e.background, **old)
    assert L.upper_limit(e, cl=0.95) == _old(L.upper_limit, e.n_obs, e.background, cl=0.95, **old)
    assert L.expected_limits(e) == _old(L.expected_limits, e.background, **old)
    assert L.cls_pvalues(2.0, e) == _old(L.cls_pvalues, 2.0, e.n_obs, e.background, **old)
    masses, yields = np.array([0.05, 0.5]), np.array([200.0, 8.0])
    new = L.coupling_limit(masses, yields, 1e-3, e)
    dep = _old(L.coupling_limit, masses, yields, 1e-3, n_obs=e.n_obs, background=e.background, **old)
    np.testing.assert_array_equal(new.observed, dep.observed)
    np.testing.assert_array_equal(new.expected.median, dep.expected.median)
    proj = dict(mot_ref=1.98e10, masses=masses, signal_yield_ref=yields, g_ref=1e-3)
    p_new = L.project(e, [1e11, 3.5e11], **proj)
    p_old = _old(L.project, [1e11, 3.5e11], background_ref=e.background,
                 background_uncertainty_ref=e.background_uncertainty,
                 signal_uncertainty=e.signal_uncertainty, **proj)
    np.testing.assert_allclose(p_new.expected.median, p_old.expected.median, rtol=1e-12)
    np.testing.assert_allclose(p_new.background, p_old.background, rtol=1e-15)


def test_scaled_doubles_the_background_and_keeps_the_relative_uncertainty():
    e2 = E2022.scaled(2)
    assert e2.background == 2 * 0.07 and e2.background_uncertainty == 2 * 0.03
    assert e2.signal_uncertainty == E2022.signal_uncertainty and e2.n_obs == E2022.n_obs
    # the projection at twice the exposure is the expected limit of the doubled experiment
    p = L.project(E2022, 2 * 1.98e10, mot_ref=1.98e10, masses=[0.1], signal_yield_ref=[10.0], g_ref=1e-3)
    assert p.background[0] == pytest.approx(0.14, rel=1e-15)
    assert p.events_expected.median[0] == L.expected_limits(e2).median
    # doubling the exposure (yield x2, zero background) lowers the coupling limit by sqrt(2)
    z = CountingExperiment(0, 0.0)
    p = L.project(z, [1e10, 2e10], mot_ref=1e10, masses=[0.1], signal_yield_ref=[10.0], g_ref=1e-3)
    assert p.expected.median[0, 0] / p.expected.median[1, 0] == pytest.approx(math.sqrt(2), rel=1e-12)


def test_bad_experiments_and_mixed_forms_are_refused():
    with pytest.raises(ValueError, match="n_obs"):
        CountingExperiment(-1, 0.07)
    with pytest.raises(ValueError, match="background_uncertainty.*needs background > 0"):
        CountingExperiment(0, 0.0, 0.1)
    with pytest.raises(ValueError, match="signal_uncertainty"):
        CountingExperiment(0, 0.07, 0.03, -0.1)
    with pytest.raises(ValueError, match="k must be > 0"):
        E2022.scaled(0)
    with pytest.raises(TypeError, match="not both"):
        L.upper_limit(E2022, 0.07)
    with pytest.raises(TypeError, match="project"):
        L.project(E2022, [1e11], mot_ref=1.98e10, masses=[0.1], signal_yield_ref=[1.0], g_ref=1e-3,
                  background_ref=0.07)
