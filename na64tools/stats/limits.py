r"""Upper limits for a one-bin counting experiment: CLs, Brazil bands, coupling limits, projections.

NA64μ is a counting experiment: one signal region, ``n_obs`` events observed, ``b`` background
events expected (2022 run: ``n_obs = 0``, ``b = 0.07 ± 0.03`` for 1.98e10 MOT,
PRL 132 (2024) 211803). NA64 quotes 90 % CL upper limits with the modified frequentist CLs method
including background and signal-yield uncertainties (docs/references.md).

Statistical model (``method="cls"``, the default)
-------------------------------------------------
* Test statistic: the number of observed events ``n`` itself. For one bin, the one-sided profile
  likelihood ratio :math:`\tilde q_\mu` is a monotone function of ``n`` below the tested yield, so
  both order the outcomes identically; ``n`` makes CLs exact, with no asymptotic approximation
  (Read, J. Phys. G 28 (2002) 2693; Junk, NIM A 434 (1999) 435):

  .. math:: \mathrm{CL_s}(s) = \frac{P(n \le n_\mathrm{obs} \mid s + b)}{P(n \le n_\mathrm{obs} \mid b)}.

* Nuisance parameters are **integrated** over their priors (hybrid Bayesian-frequentist,
  Cousins & Highland, NIM A 320 (1992) 331), not profiled:

  - the background ``b`` follows a Gamma distribution with mean ``background`` and standard
    deviation ``background_uncertainty``. It is the posterior of ``b`` from a Poisson auxiliary
    measurement of :math:`m = (b/\sigma_b)^2` events with scale :math:`\tau = b/\sigma_b^2`
    (reference prior :math:`1/b`), the same auxiliary measurement as pyhf's ``shapesys``
    modifier used by ``pyhf.simplemodels.uncorrelated_background``. It is positive, unlike a
    truncated Gaussian, which matters for ``b = 0.07 ± 0.03``.
  - the signal yield is ``s·k`` with ``k`` Gamma-distributed with mean 1 and relative standard
    deviation ``signal_uncertainty`` (efficiency, luminosity/MOT, cross-section systematics).

  A Poisson count whose mean is Gamma-distributed is negative-binomial (Gamma-Poisson mixture),
  so the integrals are done **in closed form**: :math:`P(n \le n_\mathrm{obs})` is a finite
  convolution of a negative-binomial signal count with a negative-binomial background count.
  No quadrature and no toys are involved: the result is deterministic to machine precision.

* Consequences (tested): for ``n_obs = 0`` the background factorises out,
  :math:`\mathrm{CL_s} = E_k[e^{-sk}]`, so the limit is :math:`-\ln(1-\mathrm{CL}) = 2.303`
  events at 90 % CL (2.996 at 95 % CL) whatever the background and its uncertainty; a signal
  uncertainty ``r`` gives :math:`(1 + s r^2)^{-1/r^2} = 1 - \mathrm{CL}`, slightly above 2.303
  (Jensen's inequality).

Other methods
-------------
* ``method="bayes"``: flat prior on ``s >= 0``, same priors for the nuisance parameters, the
  credible upper limit :math:`\int_0^{s_\mathrm{up}} L\,ds / \int_0^\infty L\,ds = \mathrm{CL}`
  with the marginal likelihood ``L``. Closed form as well. Without signal uncertainty it equals
  the CLs limit exactly (Helene, NIM 212 (1983) 319; PDG Statistics review §40.4.1).
* ``method="asymptotic"``: CLs with the profiled :math:`\tilde q_\mu` and the asymptotic formulae
  of Cowan, Cranmer, Gross, Vitells, EPJ C 71 (2011) 1554 (arXiv:1007.1727), for the model
  ``Pois(n | s + γ b) · Pois(τ | γ τ)``, ``τ = (b/σ_b)²`` — exactly the model and the
  calculator of ``pyhf.simplemodels.uncorrelated_background`` with ``test_stat="qtilde"``.
  **Do not use it for NA64μ**: asymptotics are badly off for a handful of events; at
  ``n_obs = 0`` it gives about 1.4 events instead of 2.30. It exists to compare with pyhf.

Expected limits (Brazil band)
-----------------------------
Under the background-only hypothesis ``n`` follows the prior-predictive distribution (Poisson(b)
without background uncertainty, negative binomial with it). The upper limit is a non-decreasing
function of ``n``, so the ``q``-quantile of the limit is the limit at the ``q``-quantile of ``n``,
computed with exact sums. Quantile convention for the discrete ``n``: the smallest ``n`` with
``P(N <= n) >= q`` (``scipy.stats``' ``ppf``), for
``q = Φ(-2), Φ(-1), 0.5, Φ(1), Φ(2)`` = 0.0228, 0.1587, 0.5, 0.8413, 0.9772. With tiny
backgrounds the band is degenerate: at ``b = 0.07`` all quantiles up to ``Φ(1)`` are at ``n = 0``.

Couplings
---------
The signal cross-section scales as :math:`g^2` (docs/references.md), so
:math:`g_\mathrm{up}(m) = g_\mathrm{ref}\sqrt{s_\mathrm{up}/N_\mathrm{sig}(m, g_\mathrm{ref})}`.
For a counting experiment ``s_up`` does not depend on the mass: it is computed once per scan.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import optimize, special

__all__ = [
    "METHODS",
    "QUANTILES",
    "CountingExperiment",
    "background_only_quantiles",
    "CouplingLimit",
    "ExpectedLimits",
    "Projection",
    "cls_pvalues",
    "coupling_limit",
    "expected_limits",
    "project",
    "upper_limit",
    "upper_limit_pyhf",
]

#: supported values of ``method``
METHODS = ("cls", "bayes", "asymptotic")

#: name of each Brazil-band entry -> number of standard deviations (quantile Φ(z) of the limit)
QUANTILES = {"minus2": -2.0, "minus1": -1.0, "median": 0.0, "plus1": 1.0, "plus2": 2.0}

_XTOL = 1e-12
_RTOL = 1e-12


# --------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------
def _check_nonneg(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def _check_n_obs(n_obs: int) -> int:
    if isinstance(n_obs, bool):
        raise ValueError(f"n_obs must be a non-negative integer, got {n_obs!r}")
    if isinstance(n_obs, numbers.Integral):
        n = int(n_obs)
    elif isinstance(n_obs, numbers.Real) and math.isfinite(n_obs) and float(n_obs).is_integer():
        n = int(n_obs)
    else:
        raise ValueError(f"n_obs must be a non-negative integer, got {n_obs!r}")
    if n < 0:
        raise ValueError(f"n_obs must be a non-negative integer, got {n_obs!r}")
    return n


def _check_cl(cl: float) -> float:
    try:
        x = float(cl)
    except (TypeError, ValueError):
        raise ValueError(f"cl must be a number in (0, 1), got {cl!r}") from None
    if not 0.0 < x < 1.0:
        raise ValueError(f"cl must be a confidence level in (0, 1), e.g. 0.9; got {cl!r}")
    return x


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return method


def _check_background(
    background: float,
    background_uncertainty: float,
    names: tuple[str, str] = ("background", "background_uncertainty"),
) -> tuple[float, float]:
    b = _check_nonneg(names[0], background)
    db = _check_nonneg(names[1], background_uncertainty)
    if b == 0.0 and db > 0.0:
        raise ValueError(
            f"{names[1]}={background_uncertainty!r} needs {names[0]} > 0 "
            "(the uncertainty is the standard deviation of a positive background)"
        )
    return b, db


# --------------------------------------------------------------------------------------------
# the counting experiment
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CountingExperiment:
    """A one-bin counting experiment: everything a limit needs besides ``cl`` and ``method``.

    Parameters
    ----------
    n_obs
        Number of observed events (non-negative integer; not used by expected limits).
    background
        Expected background events ``b`` (>= 0).
    background_uncertainty
        Absolute standard deviation of ``b`` (Gamma prior, see the module docstring).
    signal_uncertainty
        Relative standard deviation of the signal yield (Gamma prior with mean 1).

    Example: the 2022 NA64μ run, ``CountingExperiment(0, 0.07, 0.03, 0.142)``
    (PRL 132 (2024) 211803). Invalid numbers raise ``ValueError`` naming the parameter.
    """

    n_obs: int
    background: float
    background_uncertainty: float = 0.0
    signal_uncertainty: float = 0.0

    def __post_init__(self):
        b, db = _check_background(self.background, self.background_uncertainty)
        object.__setattr__(self, "n_obs", _check_n_obs(self.n_obs))
        object.__setattr__(self, "background", b)
        object.__setattr__(self, "background_uncertainty", db)
        object.__setattr__(self, "signal_uncertainty",
                           _check_nonneg("signal_uncertainty", self.signal_uncertainty))

    def scaled(self, k: float) -> CountingExperiment:
        """The experiment with ``k`` times the exposure (MOT): the background and its
        uncertainty scale by ``k`` (the *relative* background uncertainty is kept: a
        systematic-dominated assumption), the relative signal uncertainty and ``n_obs`` are
        unchanged (a scaled experiment is for expected limits, which do not use ``n_obs``).

        Parameters
        ----------
        k : float
            Ratio of the exposures (new MOT / this experiment's MOT), > 0.

        Returns
        -------
        CountingExperiment
            The scaled experiment.
        """
        k = _check_positive("k", k)
        return replace(self, background=self.background * k,
                       background_uncertainty=self.background_uncertainty * k)


_POSITIONAL = ("n_obs", "background", "background_uncertainty")


def _given(experiment, args: tuple) -> tuple:
    """The positional arguments of a call, from its first one on."""
    return args if experiment is None else (experiment, *args)


def _experiment(func: str, given: tuple, old: dict[str, Any],
                names: tuple[str, ...] = _POSITIONAL, **fixed: Any) -> CountingExperiment:
    """The :class:`CountingExperiment` of a call: ``given[0]`` if it is one, else built from the
    deprecated form (positional ``names``, then the keywords ``old``) with a DeprecationWarning."""
    if given and isinstance(given[0], CountingExperiment):
        if len(given) > 1 or old:
            raise TypeError(f"{func}: give a CountingExperiment or the numbers "
                            f"({', '.join(names)}, ...), not both")
        return given[0]
    values = dict(fixed)
    if len(given) > len(names):
        raise TypeError(f"{func}: too many positional arguments {given!r}")
    values.update(zip(names, given, strict=False))
    unknown = set(old) - {*_POSITIONAL, "signal_uncertainty"}
    if unknown:
        raise TypeError(f"{func}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    values.update(old)
    missing = [n for n in ("n_obs", "background") if n not in values]
    if missing:
        raise TypeError(f"{func}: missing the experiment (a CountingExperiment, or {missing[0]})")
    warnings.warn(f"{func}(n_obs, background, background_uncertainty, signal_uncertainty=...) is "
                  "deprecated: pass a CountingExperiment(n_obs, background, background_uncertainty, "
                  "signal_uncertainty)", DeprecationWarning, stacklevel=3)
    return CountingExperiment(**values)


# --------------------------------------------------------------------------------------------
# exact probabilities
# --------------------------------------------------------------------------------------------
def _log_pmf(kmax: int, mean: float, rel: float) -> np.ndarray:
    r"""log P(K = k), k = 0..kmax, for K ~ Poisson(μ λ) with λ ~ Gamma(mean 1, rel. std ``rel``).

    For ``rel > 0`` this is the negative binomial with shape :math:`\alpha = 1/\mathrm{rel}^2`
    and mean ``μ``:
    :math:`\log P(k) = \sum_{i<k}\log\frac{\alpha+i}{\alpha+\mu} - \log k! + k\log\mu
    - \alpha\log(1+\mu/\alpha)`, written so that it tends smoothly to the Poisson law as
    ``rel -> 0`` (no cancellation of two large ``lgamma`` values).
    """
    k = np.arange(kmax + 1, dtype=float)
    if mean == 0.0:
        out = np.full(kmax + 1, -np.inf)
        out[0] = 0.0
        return out
    if rel < 1e-100:  # Gamma spread below 1e-200 in variance: the Poisson law to all digits
        return special.xlogy(k, mean) - mean - special.gammaln(k + 1.0)
    alpha = 1.0 / rel**2
    steps = np.log1p((k[:-1] - mean) / (alpha + mean))
    head = np.concatenate(([0.0], np.cumsum(steps)))
    return head - special.gammaln(k + 1.0) + k * math.log(mean) - alpha * math.log1p(mean / alpha)


def _logsumexp(a: np.ndarray) -> float:
    """log Σ exp(a), stable; plain numpy (scipy's version costs ~10x more on these short arrays)."""
    m = float(np.max(a))
    if not math.isfinite(m):
        return m
    return m + math.log(float(np.sum(np.exp(a - m))))


def _log_cdf_from_log_pmf(log_pmf: np.ndarray) -> np.ndarray:
    """Cumulative log-sum-exp: log P(K <= k) for each k, stable deep in the tails."""
    return np.logaddexp.accumulate(log_pmf)


class _CountingModel:
    """Exact CLs / Bayes / asymptotic machinery for one (n_obs, b, σ_b, r_s) configuration."""

    def __init__(self, n_obs: int, b: float, db: float, rs: float):
        self.n = n_obs
        self.b = b
        self.db = db
        self.rs = rs
        # background count distribution does not depend on s: compute once
        self.log_pmf_b = _log_pmf(n_obs, b, db / b if b > 0 else 0.0)
        self.log_cdf_b = _log_cdf_from_log_pmf(self.log_pmf_b)
        # log P(n <= n_obs | b), the CLb of the n test statistic
        self.log_clb = float(self.log_cdf_b[-1])
        if not math.isfinite(self.log_clb):
            raise ValueError(
                f"n_obs={n_obs} is numerically impossible under background={b!r} "
                f"± {db!r}: P(n <= n_obs | b) underflows"
            )

    # -- cls ----------------------------------------------------------------------------
    def log_clsb(self, s: float) -> float:
        """log P(n <= n_obs | s + b), nuisance parameters integrated."""
        log_pmf_s = _log_pmf(self.n, s, self.rs)
        # P(S + B <= n) = sum_j P(S = j) P(B <= n - j)
        return _logsumexp(log_pmf_s + self.log_cdf_b[::-1])

    def log_cls(self, s: float) -> float:
        if s == 0.0:
            return 0.0
        return self.log_clsb(s) - self.log_clb

    # -- bayes --------------------------------------------------------------------------
    def bayes_cdf(self, s: float) -> float:
        r"""Posterior P(S <= s | n_obs) for a flat prior on the signal yield.

        With :math:`L(s) = \sum_j P(S=j|s) P(B = n-j)` and ``S`` Poisson(s·k), k ~ Gamma(1, r):
        :math:`\int_0^{s} E_k[\mathrm{Pois}(j; s'k)]\,ds' \propto P(M > j)`, with ``M`` negative
        binomial of mean :math:`(1-r^2)s` and relative spread :math:`r/\sqrt{1-r^2}` (Poisson(s)
        for r = 0, where it is the regularised incomplete gamma function :math:`P(j+1, s)`).
        """
        if s == 0.0:
            return 0.0
        r = self.rs
        log_pmf_m = _log_pmf(self.n, (1.0 - r * r) * s, r / math.sqrt(1.0 - r * r))
        # P(M > j) may round to 0 (or to -1 ulp) for small s: clip, and let log(0) be -inf
        sf = np.maximum(-np.expm1(_log_cdf_from_log_pmf(log_pmf_m)), 0.0)
        with np.errstate(divide="ignore"):
            log_sf = np.log(sf)
        log_w = self.log_pmf_b[::-1]  # weight of j signal events: P(B = n - j)
        return math.exp(_logsumexp(log_w + log_sf) - _logsumexp(log_w))

    # -- asymptotic (pyhf-equivalent) ----------------------------------------------------
    def _gamma_hat_hat(self, s: float, n: float, m: float, tau: float) -> float:
        """Conditional MLE of the background scale γ at fixed s (closed-form quadratic)."""
        b = self.b
        a2 = b * (b + tau)
        a1 = b * (n + m) - s * (b + tau)
        return (a1 + math.sqrt(a1 * a1 + 4.0 * a2 * m * s)) / (2.0 * a2)

    def _loglike(self, s: float, gamma: float, n: float, m: float, tau: float) -> float:
        lam = s + gamma * self.b
        ll = special.xlogy(n, lam) - lam
        if tau > 0:
            ll += special.xlogy(m, gamma * tau) - gamma * tau
        return float(ll)

    def _qtilde(self, s: float, n: float, m: float, tau: float) -> float:
        if tau > 0:
            s_hat = n - self.b * m / tau
            g_hat = m / tau
            if s_hat < 0:
                s_hat, g_hat = 0.0, self._gamma_hat_hat(0.0, n, m, tau)
            g_s = self._gamma_hat_hat(s, n, m, tau)
        else:
            s_hat, g_hat, g_s = max(n - self.b, 0.0), 1.0, 1.0
        if s_hat > s:
            return 0.0
        q = 2.0 * (self._loglike(s_hat, g_hat, n, m, tau) - self._loglike(s, g_s, n, m, tau))
        return max(q, 0.0)

    def asymptotic_cls(self, s: float) -> tuple[float, float, float]:
        """(CLsb, CLb, CLs) of the asymptotic q̃_μ calculator (Cowan et al. 2011, pyhf)."""
        n = float(self.n)
        # τ = 0 means "background known"; below 1e-6 relative the constraint is numerically exact
        tau = (self.b / self.db) ** 2 if self.db > 1e-6 * self.b else 0.0
        m = tau
        q = self._qtilde(s, n, m, tau)
        # Asimov data set: background-only fit to the observed data (arXiv:1007.1727 §5)
        g0 = self._gamma_hat_hat(0.0, n, m, tau) if tau > 0 else 1.0
        q_a = self._qtilde(s, g0 * self.b, g0 * tau, tau)
        sq, sq_a = math.sqrt(q), math.sqrt(q_a)
        if sq_a == 0.0:
            return 1.0, 1.0, 1.0
        t = sq - sq_a if sq <= sq_a else (q - q_a) / (2.0 * sq_a)
        clsb = float(special.ndtr(-(t + sq_a)))
        clb = float(special.ndtr(-t))
        return clsb, clb, clsb / clb


def _bracket_and_solve(func, start: float) -> float:
    """Root of a function positive at 0 and decreasing: double ``hi`` until the sign changes."""
    hi = start
    for _ in range(200):
        if func(hi) < 0:
            break
        hi *= 2.0
    else:  # pragma: no cover - only for absurd inputs
        raise ValueError("upper limit not bracketed below 1e60 signal events")
    return float(optimize.brentq(func, 0.0, hi, xtol=_XTOL, rtol=_RTOL, maxiter=500))


def _solve(model: _CountingModel, cl: float, method: str) -> float:
    alpha = 1.0 - cl
    n = model.n
    start = max(2.0, n + 5.0 * math.sqrt(n) + 3.0)
    if method == "cls":
        log_alpha = math.log(alpha)
        return _bracket_and_solve(lambda s: model.log_cls(s) - log_alpha, start)
    if method == "bayes":
        return _bracket_and_solve(lambda s: cl - model.bayes_cdf(s), start)
    return _bracket_and_solve(lambda s: model.asymptotic_cls(s)[2] - alpha, start)


# --------------------------------------------------------------------------------------------
# public API: single limits
# --------------------------------------------------------------------------------------------
def cls_pvalues(signal: float, experiment: CountingExperiment | None = None, *args,
                method: str = "cls", **old) -> tuple[float, float, float]:
    r"""CLs+b, CLb and CLs for a signal hypothesis of ``signal`` events.

    For ``method="cls"``: :math:`\mathrm{CL_{s+b}} = P(n \le n_\mathrm{obs} \mid s+b)`,
    :math:`\mathrm{CL_b} = P(n \le n_\mathrm{obs} \mid b)` (nuisances integrated, see the module
    docstring) and :math:`\mathrm{CL_s} = \mathrm{CL_{s+b}}/\mathrm{CL_b}`. For
    ``method="asymptotic"`` the pyhf-equivalent asymptotic values.

    Parameters
    ----------
    signal
        Tested signal yield in events (>= 0).
    experiment
        The :class:`CountingExperiment`. Deprecated form:
        ``cls_pvalues(signal, n_obs, background, background_uncertainty, signal_uncertainty=...)``.
    method
        ``"cls"`` or ``"asymptotic"``.
    *args, **old
        The arguments of the deprecated form (a ``DeprecationWarning`` is issued).

    Returns
    -------
    tuple of float
        ``(clsb, clb, cls)``.
    """
    s = _check_nonneg("signal", signal)
    model = _model(_experiment("cls_pvalues", _given(experiment, args), old), method)
    if method == "asymptotic":
        return model.asymptotic_cls(s) if s > 0 else (1.0, 1.0, 1.0)
    if method != "cls":
        raise ValueError(f"cls_pvalues needs method 'cls' or 'asymptotic', got {method!r}")
    log_clsb = model.log_clsb(s)
    return math.exp(log_clsb), math.exp(model.log_clb), math.exp(model.log_cls(s))


def _model(e: CountingExperiment, method: str) -> _CountingModel:
    rs = e.signal_uncertainty
    _check_method(method)
    if method == "bayes" and rs >= 1.0:
        raise ValueError(
            f"signal_uncertainty={rs!r}: method='bayes' needs a relative "
            "signal uncertainty < 1 (the flat-prior posterior is improper otherwise)"
        )
    if method == "asymptotic" and rs > 0.0:
        raise ValueError(
            f"signal_uncertainty={rs!r} is not supported with "
            "method='asymptotic' (use method='cls')"
        )
    return _CountingModel(e.n_obs, e.background, e.background_uncertainty, rs)


def upper_limit(experiment: CountingExperiment | None = None, *args, cl: float = 0.9,
                method: str = "cls", **old) -> float:
    r"""Upper limit on the number of signal events of a one-bin counting experiment.

    Parameters
    ----------
    experiment
        The :class:`CountingExperiment`. Deprecated form:
        ``upper_limit(n_obs, background, background_uncertainty, signal_uncertainty=...)``.
    *args, **old
        The arguments of that deprecated form (a ``DeprecationWarning`` is issued).
    cl
        Confidence level in (0, 1); NA64 quotes 0.9.
    method
        ``"cls"`` (default: exact CLs, number of events as test statistic, nuisances
        integrated), ``"bayes"`` (flat prior on the signal) or ``"asymptotic"`` (pyhf-like
        asymptotic CLs with profiled background; unreliable at small counts, e.g. 1.4 instead of
        2.30 at ``n_obs = 0``).

    Returns
    -------
    float
        ``s_up`` such that CLs(s_up) = 1 - cl (or the posterior probability of ``s <= s_up`` is
        ``cl``), in signal events. ``n_obs = 0`` gives :math:`-\ln(1-\mathrm{cl})` (2.303 at
        90 % CL) for any background when ``signal_uncertainty = 0``.

    Raises
    ------
    ValueError
        For a negative or non-integer ``n_obs``, a negative or non-finite background or
        uncertainty, ``cl`` outside (0, 1) or an unknown ``method``.

    Examples
    --------
    No event observed: 2.303 events at 90 % CL whatever the background (``-ln 0.1``), more with
    a signal-yield uncertainty (the 2022 NA64μ run, PRL 132 (2024) 211803):

    >>> from na64tools.stats.limits import CountingExperiment, upper_limit
    >>> round(upper_limit(CountingExperiment(0, 0.07, 0.03)), 3)
    2.303
    >>> bool(upper_limit(CountingExperiment(0, 0.07, 0.03, 0.142)) > 2.303)
    True
    """
    experiment = _experiment("upper_limit", _given(experiment, args), old)
    cl = _check_cl(cl)
    return _solve(_model(experiment, method), cl, method)


# --------------------------------------------------------------------------------------------
# expected limits
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectedLimits:
    """A Brazil band: quantiles of the upper limit under the background-only hypothesis.

    Each field is a float (event limits) or an array (coupling limits per mass, or per exposure
    and mass). ``minus2`` and ``minus1`` are the Φ(-2) and Φ(-1) quantiles (the strongest
    expected limits), ``plus1`` and ``plus2`` the Φ(+1) and Φ(+2) quantiles.
    """

    minus2: float | np.ndarray
    minus1: float | np.ndarray
    median: float | np.ndarray
    plus1: float | np.ndarray
    plus2: float | np.ndarray

    def as_dict(self) -> dict[str, float | np.ndarray]:
        """The five quantiles keyed by name, ordered from ``minus2`` to ``plus2``.

        Returns
        -------
        dict
            ``{"minus2": ..., "minus1": ..., "median": ..., "plus1": ..., "plus2": ...}``.
        """
        return {name: getattr(self, name) for name in QUANTILES}

    def map(self, func) -> ExpectedLimits:
        """A new band with ``func`` applied to each quantile.

        Parameters
        ----------
        func : callable
            Applied to each quantile (a float or an array).

        Returns
        -------
        ExpectedLimits
            The transformed band.
        """
        return ExpectedLimits(**{name: func(value) for name, value in self.as_dict().items()})


def background_only_quantiles(
    background: float, background_uncertainty: float = 0.0
) -> dict[str, int]:
    """Quantiles of the observed count under the background-only hypothesis.

    ``n`` follows Poisson(b) (negative binomial when ``background_uncertainty > 0``: the prior
    predictive of the Gamma-distributed background). The ``q``-quantile is the smallest ``n``
    with ``P(N <= n) >= q``; the quantiles are ``Φ(z)`` for the ``z`` of :data:`QUANTILES`.

    Parameters
    ----------
    background : float
        Expected background events ``b`` (>= 0).
    background_uncertainty : float
        Absolute standard deviation of ``b`` (events).

    Returns
    -------
    dict of str to int
        ``{name: n}`` for the names of :data:`QUANTILES` (``minus2`` ... ``plus2``).
    """
    b, db = _check_background(background, background_uncertainty)
    probs = {name: float(special.ndtr(z)) for name, z in QUANTILES.items()}
    kmax = max(int(b + 10.0 * math.sqrt(b + db * db) + 10.0 * db + 20.0), 20)
    while True:
        cdf = np.exp(_log_cdf_from_log_pmf(_log_pmf(kmax, b, db / b if b > 0 else 0.0)))
        if cdf[-1] >= max(probs.values()):
            break
        kmax *= 2
    # smallest n with cdf(n) >= q; the tiny tolerance keeps exact ties (q == cdf) on the low side
    return {
        name: int(np.searchsorted(cdf, q * (1.0 - 1e-12), side="left")) for name, q in probs.items()
    }


def expected_limits(experiment: CountingExperiment | None = None, *args, cl: float = 0.9,
                    method: str = "cls", **old) -> ExpectedLimits:
    """Expected upper limits (median and ±1σ, ±2σ band) for the background-only hypothesis.

    Exact: the limit is non-decreasing in ``n``, so its quantiles are the limits at the
    quantiles of ``n`` (:func:`background_only_quantiles`); no toys. ``experiment``: the
    :class:`CountingExperiment` (its ``n_obs`` is not used); deprecated form
    ``expected_limits(background, background_uncertainty, signal_uncertainty=...)``. ``cl`` and
    ``method`` as in :func:`upper_limit`.

    Parameters
    ----------
    experiment : CountingExperiment
        The experiment (its ``n_obs`` is not used).
    *args, **old
        The arguments of the deprecated form (a ``DeprecationWarning`` is issued).
    cl : float
        Confidence level in (0, 1).
    method : str
        ``"cls"``, ``"bayes"`` or ``"asymptotic"``, as in :func:`upper_limit`.

    Returns
    -------
    ExpectedLimits
        Event limits; e.g. for ``background = 0.07`` every quantile up to ``plus1`` is the
        ``n_obs = 0`` limit 2.303 (90 % CL) and ``plus2`` is the ``n_obs = 1`` limit.
    """
    e = _experiment("expected_limits", _given(experiment, args), old, names=_POSITIONAL[1:], n_obs=0)
    cl = _check_cl(cl)
    _check_method(method)
    quantiles = background_only_quantiles(e.background, e.background_uncertainty)
    cache: dict[int, float] = {}
    for n in quantiles.values():
        if n not in cache:
            cache[n] = upper_limit(replace(e, n_obs=n), cl=cl, method=method)
    return ExpectedLimits(**{name: cache[n] for name, n in quantiles.items()})


# --------------------------------------------------------------------------------------------
# couplings and projections
# --------------------------------------------------------------------------------------------
def _check_yields(name: str, values, shape=None) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape} (one value per mass)")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite and >= 0; entry {i} is {arr[i]!r}")
    return arr


def _check_positive(name: str, value: float) -> float:
    x = _check_nonneg(name, value)
    if x == 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def _coupling(g_ref: float, s_up: float | np.ndarray, yields: np.ndarray) -> np.ndarray:
    """g_up = g_ref sqrt(s_up / N_sig(g_ref)) (σ ∝ g², docs/references.md); N = 0 -> inf."""
    with np.errstate(divide="ignore"):
        ratio = np.where(
            yields > 0, np.asarray(s_up, dtype=float) / np.where(yields > 0, yields, 1.0), np.inf
        )
    return g_ref * np.sqrt(ratio)


@dataclass(frozen=True)
class CouplingLimit:
    """Observed and expected coupling limits of a mass scan.

    Attributes
    ----------
    masses
        Masses of the scan (GeV), as given.
    observed
        Observed coupling limit per mass; ``inf`` where the signal yield is zero.
    expected
        Expected coupling limits per mass (:class:`ExpectedLimits` of arrays).
    events_observed, events_expected
        The mass-independent event limits they come from.
    cl, g_ref, method
        Settings of the computation.
    """

    masses: np.ndarray
    observed: np.ndarray
    expected: ExpectedLimits
    events_observed: float
    events_expected: ExpectedLimits
    cl: float
    g_ref: float
    method: str = "cls"


def coupling_limit(
    masses: Sequence[float] | np.ndarray,
    signal_yield_ref: Sequence[float] | np.ndarray,
    g_ref: float,
    experiment: CountingExperiment | None = None,
    *,
    cl: float = 0.9,
    method: str = "cls",
    **old,
) -> CouplingLimit:
    r"""Observed and expected upper limits on the coupling as a function of the mass.

    :math:`g_\mathrm{up}(m) = g_\mathrm{ref}\sqrt{s_\mathrm{up}/N_\mathrm{sig}(m, g_\mathrm{ref})}`
    because the production cross-section scales as :math:`g^2` (docs/references.md).
    The event limit ``s_up`` (and the expected band) is computed once for the scan.

    Parameters
    ----------
    masses
        Masses of the scan (GeV), 1-D.
    signal_yield_ref
        Expected signal events at each mass for the coupling ``g_ref`` (after all efficiencies,
        for the exposure of ``n_obs`` and ``background``). Zero yield gives an infinite limit
        (no sensitivity); negative or NaN values raise ``ValueError``.
    g_ref
        The reference coupling of ``signal_yield_ref`` (> 0).
    experiment
        The :class:`CountingExperiment`. Deprecated form: the
        keywords ``n_obs``, ``background``, ``background_uncertainty``, ``signal_uncertainty``.
    cl, method
        As in :func:`upper_limit`.
    **old
        The deprecated keywords above (a ``DeprecationWarning`` is issued).

    Returns
    -------
    CouplingLimit
        ``observed`` and ``expected`` coupling limits at each mass, with the event limits
        ``events_observed`` / ``events_expected`` they come from.

    Raises
    ------
    ValueError
        Masses or yields that are not finite and non-negative, of different shapes, or
        ``g_ref <= 0`` (and as :func:`upper_limit` for the experiment).

    Examples
    --------
    With 50 (5) signal events expected at g = 1e-4 for 0.1 (1) GeV and no event observed, the
    limit is ``1e-4 * sqrt(2.303 / N)``:

    >>> from na64tools.stats.limits import CountingExperiment, coupling_limit
    >>> lim = coupling_limit([0.1, 1.0], [50.0, 5.0], 1e-4, CountingExperiment(0, 0.07, 0.03))
    >>> [f"{g:.3g}" for g in lim.observed]
    ['2.15e-05', '6.79e-05']
    """
    experiment = _experiment("coupling_limit", _given(experiment, ()), old, names=())
    masses = _check_yields("masses", masses)
    yields = _check_yields("signal_yield_ref", signal_yield_ref, masses.shape)
    g_ref = _check_positive("g_ref", g_ref)
    s_up = upper_limit(experiment, cl=cl, method=method)
    s_exp = expected_limits(experiment, cl=cl, method=method)
    return CouplingLimit(
        masses=masses,
        observed=_coupling(g_ref, s_up, yields),
        expected=s_exp.map(lambda s: _coupling(g_ref, s, yields)),
        events_observed=s_up,
        events_expected=s_exp,
        cl=float(cl),
        g_ref=g_ref,
        method=method,
    )


@dataclass(frozen=True)
class Projection:
    """Expected coupling limits at other exposures.

    Attributes
    ----------
    mot
        Exposures (muons on target), shape ``(k,)``.
    masses
        Masses (GeV), shape ``(m,)``.
    expected
        Expected coupling limits, :class:`ExpectedLimits` of arrays of shape ``(k, m)``.
    events_expected
        Expected event limits, :class:`ExpectedLimits` of arrays of shape ``(k,)``.
    background, background_uncertainty
        Background (events) and its absolute uncertainty at each exposure, shape ``(k,)``.
    """

    mot: np.ndarray
    masses: np.ndarray
    expected: ExpectedLimits
    events_expected: ExpectedLimits
    background: np.ndarray
    background_uncertainty: np.ndarray
    cl: float
    g_ref: float


def project(
    experiment: CountingExperiment | Any,
    mot: float | Sequence[float] | np.ndarray | None = None,
    *,
    mot_ref: float,
    masses: Sequence[float] | np.ndarray,
    signal_yield_ref: Sequence[float] | np.ndarray,
    g_ref: float,
    cl: float = 0.9,
    method: str = "cls",
    **old,
) -> Projection:
    r"""Expected coupling limits when the exposure changes from ``mot_ref`` to ``mot``.

    Signal yield and background scale linearly with the number of muons on target (same
    selection, same background per MOT): the experiment at each exposure is
    ``experiment.scaled(mot / mot_ref)`` (:meth:`CountingExperiment.scaled`: the relative
    background uncertainty is kept, a systematic-dominated assumption — the limit then stops
    improving once ``b·σ_b/b`` dominates; give no background uncertainty to see the pure
    statistical scaling). With zero background :math:`g_\mathrm{up}\propto \mathrm{MOT}^{-1/2}`;
    with a large background it degrades towards :math:`\mathrm{MOT}^{-1/4}`
    (docs/references.md).

    Parameters
    ----------
    experiment
        The :class:`CountingExperiment` at the reference exposure (its ``n_obs`` is not used).
        Deprecated form: ``project(mot, ..., background_ref=..., background_uncertainty_ref=...,
        signal_uncertainty=...)``.
    mot
        One exposure or a sequence of exposures (MOT), e.g. ``[1e11, 3.5e11, 2e13]``.
    mot_ref
        Exposure of ``signal_yield_ref`` and of the experiment's background (MOT), e.g.
        1.98e10 for 2022.
    masses, signal_yield_ref, g_ref
        As in :func:`coupling_limit`, for the reference exposure.
    cl, method
        As in :func:`upper_limit`.
    **old
        The deprecated keywords (a ``DeprecationWarning`` is issued).

    Returns
    -------
    Projection
        Expected coupling limits at each exposure and mass, with the event limits and the scaled
        background.
    """
    if not isinstance(experiment, CountingExperiment):  # project(mot, ..., background_ref=...)
        if mot is not None:
            raise TypeError("project: give project(experiment, mot, ...)")
        mot = experiment
        unknown = set(old) - {"background_ref", "background_uncertainty_ref", "signal_uncertainty"}
        if unknown or "background_ref" not in old:
            raise TypeError(f"project: unexpected or missing arguments {sorted(unknown) or ['experiment']}")
        b_ref, db_ref = _check_background(old["background_ref"], old.get("background_uncertainty_ref", 0.0),
                                          names=("background_ref", "background_uncertainty_ref"))
        experiment = _experiment("project", (), {"background": b_ref, "background_uncertainty": db_ref,
                                                 "signal_uncertainty": old.get("signal_uncertainty", 0.0)},
                                 n_obs=0)
    elif old or mot is None:
        raise TypeError("project: give project(experiment, mot, *, mot_ref, masses, "
                        "signal_yield_ref, g_ref)")
    mot_arr = np.atleast_1d(np.asarray(mot, dtype=float))
    if mot_arr.ndim != 1 or mot_arr.size == 0:
        raise ValueError(f"mot must be a number or a 1-D sequence of numbers, got {mot!r}")
    for x in mot_arr:
        _check_positive("mot", x)
    mot_ref = _check_positive("mot_ref", mot_ref)
    masses = _check_yields("masses", masses)
    yields = _check_yields("signal_yield_ref", signal_yield_ref, masses.shape)
    g_ref = _check_positive("g_ref", g_ref)

    scaled = [experiment.scaled(k) for k in mot_arr / mot_ref]
    bands = [expected_limits(e, cl=cl, method=method) for e in scaled]
    events = ExpectedLimits(
        **{name: np.array([getattr(band, name) for band in bands]) for name in QUANTILES}
    )
    scaled_yields = (mot_arr / mot_ref)[:, None] * yields[None, :]
    expected = events.map(lambda s: _coupling(g_ref, s[:, None], scaled_yields))
    return Projection(
        mot=mot_arr,
        masses=masses,
        expected=expected,
        events_expected=events,
        background=np.array([e.background for e in scaled]),
        background_uncertainty=np.array([e.background_uncertainty for e in scaled]),
        cl=float(cl),
        g_ref=g_ref,
    )


# --------------------------------------------------------------------------------------------
# pyhf cross-check (optional dependency)
# --------------------------------------------------------------------------------------------
def upper_limit_pyhf(
    n_obs: int,
    background: float,
    background_uncertainty: float,
    *,
    cl: float = 0.9,
    scan: Sequence[float] | np.ndarray | None = None,
) -> float:
    """The same one-bin limit computed with pyhf's asymptotic calculator (cross-check only).

    Needs pyhf (``pip install 'na64tools[limits]'``). Model
    ``pyhf.simplemodels.uncorrelated_background(signal=[1], bkg=[b], bkg_uncertainty=[σ_b])``
    (the signal strength is then the signal yield in events), ``test_stat="qtilde"``, CLs
    linearly interpolated on a scan. It agrees with ``upper_limit(..., method="asymptotic")``
    to about 1e-4; the exact ``method="cls"`` limit lies about half an event above it (the
    continuity correction of a discrete count), and far above at ``n_obs = 0`` (2.30 against
    1.44 for ``b = 0.07 ± 0.03``): do not quote asymptotic limits for NA64μ.

    Pitfalls of pyhf 0.7.6 with numpy 2.x that this helper avoids:

    * ``pyhf.infer.intervals.upper_limits.upper_limit(..., scan=None, level=0.10)`` ignores
      ``level`` and returns the 95 % CL result: an explicit scan and ``level = 1 - cl`` are
      always passed here.
    * the toy calculator (``calctype="toybased"``) fails in ``hypotest`` because it calls
      ``numpy.percentile(..., interpolation=...)``, removed in numpy 2; toys are not offered.
      (pyhf toys also fluctuate the auxiliary measurement, which breaks the ties of the
      discrete count at random: they estimate a mid-p-value, not ``P(n <= n_obs)``.)

    Parameters
    ----------
    n_obs, background, background_uncertainty, cl
        As in :func:`upper_limit`; pyhf needs ``background > 0`` and
        ``background_uncertainty > 0``.
    scan
        Signal yields to scan (events). Default: 61 points around the expected answer. A result
        on the edge of the scan raises ``ValueError`` (the interpolation would be clamped).

    Returns
    -------
    float
        The upper limit on the signal yield (events) at confidence level ``cl``.
    """
    try:
        import pyhf
    except ImportError as exc:  # pragma: no cover - exercised only without pyhf
        raise ImportError("upper_limit_pyhf needs pyhf: pip install 'na64tools[limits]'") from exc
    n = _check_n_obs(n_obs)
    cl = _check_cl(cl)
    b, db = _check_background(background, background_uncertainty)
    if b <= 0 or db <= 0:
        raise ValueError(
            f"upper_limit_pyhf needs background > 0 and background_uncertainty > 0, "
            f"got {background!r} and {background_uncertainty!r}"
        )
    if scan is None:
        guess = upper_limit(CountingExperiment(n, b, db), cl=cl, method="asymptotic")
        scan = np.linspace(0.5 * guess, 1.5 * guess + 1.0, 61)
    scan = np.asarray(scan, dtype=float)
    if scan.ndim != 1 or scan.size < 2 or not np.all(np.isfinite(scan)) or scan.min() < 0:
        raise ValueError(f"scan must be a 1-D array of >= 2 finite yields >= 0, got {scan!r}")
    pyhf.set_backend("numpy")
    with warnings.catch_warnings():
        # pyhf 0.7.6 validates its schema with the deprecated jsonschema.RefResolver
        warnings.filterwarnings("ignore", "jsonschema.RefResolver", DeprecationWarning)
        model = pyhf.simplemodels.uncorrelated_background(
            signal=[1.0], bkg=[b], bkg_uncertainty=[db]
        )
        data = [float(n), *model.config.auxdata]
        bounds = model.config.suggested_bounds()
        bounds[model.config.poi_index] = (0.0, 2.0 * float(scan.max()))
        obs, _exp = pyhf.infer.intervals.upper_limits.upper_limit(
            data, model, scan, level=1.0 - cl, test_stat="qtilde", par_bounds=bounds
        )
    obs = float(obs)
    if not scan.min() < obs < scan.max():
        raise ValueError(
            f"pyhf limit {obs!r} is on the edge of the scan [{scan.min()!r}, {scan.max()!r}]: "
            "widen the scan"
        )
    return obs
