"""Fast, physics-grounded NA64mu simulation writing NanoAOD-like ntuples.

No NA64 data are public: every notebook, test and benchmark of na64tools runs on what this
package produces. It generates, vectorised with numpy, the events of the setup description
(:class:`na64tools.config.Setup`):

- ``signal``: mu N -> mu N X with (x, theta) from the WW cross-section of
  :mod:`na64tools.physics`, X invisible, the muon continuing with (1 - x) of its energy;
- ``background``: the beam as it is: beam muons with their SM energy losses (brems, pair,
  photonuclear) and showers, the spectrometer resolution with quality-dependent non-Gaussian
  tails, beam hadrons decaying in flight, hadronic leakage and escape, pile-up, by importance
  sampling with weights in MOT (``genWeight``).

A scattered-muon trigger emulation decides which events are written. Public API:

- :func:`simulate`: write a sample as ROOT files (``Events`` + ``Runs``, docs/ntuple_format.md),
  serially or on Dask workers;
- :func:`generate`: the events as arrays, without writing;
- :func:`make_plan`: the validated sample description (strata, probabilities, weights).

Modules: :mod:`~.plan` (strata, weights, blocks), :mod:`~.beam`, :mod:`~.processes`,
:mod:`~.detector`, :mod:`~.trigger`, :mod:`~.generator`, :mod:`~.writer`, :mod:`~.parallel`.
See docs/simulation.md for the physics and the calibration.
"""

from __future__ import annotations

from .generator import generate
from .parallel import simulate
from .plan import BLOCK_SIZE, MODELS, SAMPLES, SamplePlan, make_plan

__all__ = ["simulate", "generate", "make_plan", "SamplePlan", "SAMPLES", "MODELS", "BLOCK_SIZE"]
