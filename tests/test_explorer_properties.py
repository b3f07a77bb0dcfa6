"""Properties of what the explorer shows while cuts move (issue: the explorer teaches the right
lesson): the cuts exist for a reason, so switching all of them off must make the expected reach
worse, and loosening one cut can only keep more signal and more background."""

from __future__ import annotations

import pytest

from na64tools.interactive import CUT_GROUPS, CutExplorerModel


@pytest.fixture(scope="module")
def model(small_output):
    return CutExplorerModel(small_output, projection_mot=None)


def test_every_cut_off_gives_a_worse_expected_limit(model):
    published = model.reset()
    everything_off = model.set_cuts(**{g: False for g in CUT_GROUPS})
    try:
        for m in model.masses:
            # the median expected limit: the headline while cuts move (no observed data there)
            assert everything_off.expected_limit(m) > published.expected_limit(m), m
        assert everything_off.total_background.value > 10 * published.total_background.value
    finally:
        model.reset()


def test_loosening_a_cut_keeps_more_of_everything(model):
    """Monotonic: a looser p_out cut keeps every event a tighter one keeps (an invariant)."""
    try:
        tight = model.set_cuts(p_out_max=60.0)
        loose = model.set_cuts(p_out_max=90.0)
        for m in model.masses:
            assert loose.efficiency(m) >= tight.efficiency(m)
        assert loose.total_background.value >= tight.total_background.value
    finally:
        model.reset()
