"""Numerical building blocks shared by the customer models.

Everything here works in log space and is vectorised over arrays of customers (or of
distinct sufficient-statistic tuples).  Two tools carry the hard cases:

* :func:`log_integrate`, a Gauss-Legendre *panel march*: starting at the mode of the
  integrand it lays panels outwards, each panel as long as the local curvature allows,
  until the integrand has fallen by ``drop`` nats or the interval ends.  It is exact to
  about 1e-12 for the smooth, unimodal integrands of the BTYD models, whatever their
  scale, and it accepts complex-valued log integrands so that likelihoods built on it
  can be differentiated by the complex step.
* :func:`beta_purchase_expectation`, ``E[(1 - (1 + p u)^-k) / p]`` for
  ``p ~ Beta(a, b)``: the conditional expected number of purchases of the BG/NBD and
  MBG/NBD models, computed by a positive series where it converges fast and by the panel
  march elsewhere, so that ``a = 1``, huge horizons or huge frequencies cause neither
  overflow nor cancellation.

The helpers treat complex inputs by taking every decision (branches, step sizes, the
running maximum of a log-sum-exp) on the real part only, so ``f(x + i h)`` has an
imaginary part equal to ``h f'(x)`` to machine precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, exprel, gammaln

__all__ = [
    "beta_purchase_expectation",
    "dot",
    "log1mexp",
    "log_integrate",
    "log_integrate_moments",
    "log_nbd_pmf",
    "logaddexp",
    "logsumexp_rows",
]

Array = NDArray[Any]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(10)
#: Gauss-Legendre nodes and weights on [0, 1].
GL_NODES: NDArray[np.float64] = (_GL_X + 1.0) / 2.0
GL_WEIGHTS: NDArray[np.float64] = _GL_W / 2.0


def dot(a: Array, b: Array) -> Any:
    """Inner product of two vectors without BLAS (``a @ b`` starts BLAS threads, which
    costs more than the sum itself on a busy machine); real or complex."""
    return np.einsum("i,i->", a, b)


def logaddexp(a: Array, b: Array) -> Array:
    """``log(exp(a) + exp(b))`` for real or complex arrays (max taken on real parts)."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    first = a.real >= b.real
    big = np.where(first, a, b)
    small = np.where(first, b, a)
    finite = np.isfinite(big.real)
    with np.errstate(invalid="ignore"):
        out = big + np.log1p(np.exp(small - np.where(finite, big, 0.0)))
    return np.where(finite, out, big)


def log1mexp(x: Array) -> Array:
    """``log(1 - exp(x))`` for ``x <= 0`` (real or complex), stable near 0 and -inf.

    Uses ``log(-expm1(x))`` for ``x > -log 2`` and ``log1p(-exp(x))`` otherwise
    (Maechler 2012, "Accurately computing log(1 - exp(-|a|))").
    """
    x = np.asarray(x)
    near = x.real > -np.log(2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log(-np.expm1(np.where(near, x, -1.0)))
        b = np.log1p(-np.exp(np.where(near, -1.0, x)))
    return np.where(near, a, b)


def logsumexp_rows(v: Array) -> Array:
    """``log(sum(exp(v), axis=-1))`` for real or complex 2-D arrays."""
    m = v.real.max(axis=-1)
    m = np.where(np.isfinite(m), m, 0.0)
    s = np.exp(v - m[..., None]).sum(axis=-1)
    with np.errstate(divide="ignore"):
        return m + np.log(s)


def log_integrate(
    log_f: Callable[[Array, Array], Array],
    step: Callable[[Array, Array], Array],
    lo: Array,
    hi: Array,
    start: Array,
    *,
    drop: float = 60.0,
    max_panels: int = 600,
) -> Array:
    """Logarithm of ``integral_lo^hi exp(log_f(y)) dy``, one integral per lane.

    Parameters
    ----------
    log_f : callable
        ``log_f(y, idx)`` returns the log integrand of lanes ``idx`` at the points
        ``y`` (shape ``(len(idx), m)``); it may be complex.
    step : callable
        ``step(y, idx)`` returns a positive panel length for lanes ``idx`` starting at
        the real points ``y`` (shape ``(len(idx),)``); the local scale of the integrand.
    lo, hi, start : ndarray
        Real bounds and the starting point (ideally the mode) of each lane,
        ``lo <= start <= hi``.
    drop : float
        A lane stops marching in a direction once its integrand is ``drop`` nats below
        the largest value seen (the rest contributes less than ``exp(-drop)``).
    max_panels : int
        Safety limit on the panels per direction.

    Returns
    -------
    ndarray
        The log integral, complex if ``log_f`` is.
    """
    return _march(log_f, None, step, lo, hi, start, drop, max_panels)[0]


def log_integrate_moments(
    log_f: Callable[[Array, Array], Array],
    moments: Callable[[Array, Array], Array],
    step: Callable[[Array, Array], Array],
    lo: Array,
    hi: Array,
    start: Array,
    *,
    drop: float = 60.0,
    max_panels: int = 600,
) -> tuple[Array, Array]:
    """:func:`log_integrate` (real), plus the means of ``moments`` under the integrand.

    ``moments(y, idx)`` returns ``k`` functions of the points (shape ``(k, len(idx),
    m)``); the second result (shape ``(k, n)``) is ``int g exp(log_f) / int exp(log_f)``
    for each of them, from the same nodes.  With ``g`` the derivatives of ``log_f`` in
    the parameters, these are the derivatives of the log integral (differentiation
    under the integral sign).
    """
    log_int, means = _march(log_f, moments, step, lo, hi, start, drop, max_panels)
    assert means is not None
    return log_int, means


def _march(
    log_f: Callable[[Array, Array], Array],
    moments: Callable[[Array, Array], Array] | None,
    step: Callable[[Array, Array], Array],
    lo: Array,
    hi: Array,
    start: Array,
    drop: float,
    max_panels: int,
) -> tuple[Array, Array | None]:
    """The panel march of :func:`log_integrate` (and of :func:`log_integrate_moments`)."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    start = np.clip(np.asarray(start, dtype=float), lo, hi)
    n = lo.shape[0]
    probe = log_f(start[:, None], np.arange(n))
    acc = np.zeros(n, dtype=probe.dtype)
    mom: Array | None = None
    mx = np.full(n, -np.inf)
    peak = probe.real[:, 0].copy()
    for direction in (1.0, -1.0):
        pos = start.copy()
        end = hi if direction > 0 else lo
        active = np.flatnonzero((end - pos) * direction > 0)
        for _ in range(max_panels):
            if active.size == 0:
                break
            p = pos[active]
            room = (end[active] - p) * direction
            h = np.minimum(np.asarray(step(p, active), dtype=float), room)
            nodes = p[:, None] + direction * h[:, None] * GL_NODES[None, :]
            vals = log_f(nodes, active)
            with np.errstate(divide="ignore"):
                terms = vals + np.log(h[:, None] * GL_WEIGHTS[None, :])
            new_mx = np.maximum(mx[active], terms.real.max(axis=1))
            safe = np.where(np.isfinite(new_mx), new_mx, 0.0)
            old = np.exp(np.where(np.isfinite(mx[active]), mx[active] - safe, -np.inf))
            weights = np.exp(terms - safe[:, None])
            acc[active] = acc[active] * old + weights.sum(axis=1)
            if moments is not None:
                g = moments(nodes, active)
                if mom is None:
                    mom = np.zeros((g.shape[0], n))
                mom[:, active] = mom[:, active] * old + (g * weights).sum(axis=2)
            mx[active] = safe
            top = vals.real.max(axis=1)
            peak[active] = np.maximum(peak[active], top)
            pos[active] = p + direction * h
            done = (h >= room) | (top < peak[active] - drop)
            active = active[~done]
        if active.size:  # pragma: no cover - the step rules make this unreachable
            raise RuntimeError("internal quadrature did not finish; please report this bug")
    with np.errstate(divide="ignore"):
        log_int = mx + np.log(acc)
    if moments is None:
        return log_int, None
    if mom is None:  # every lane had an empty interval
        mom = np.zeros((moments(start[:, None], np.arange(n)).shape[0], n))
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_int, mom / acc


def _series_q(a: Array, b: Array, k: Array, u: Array, max_terms: int) -> tuple[Array, Array]:
    """Series form of :func:`beta_purchase_expectation` (all terms positive).

    ``Q = c [-l exprel((a-1) l) - exp((a-1) l) S1]`` with ``c = a + b - 1``,
    ``l = -log1p(u)``, ``z = u / (1 + u)`` and
    ``S1 = sum_{n>=1} (A)_n (a)_{n-1} z^n / ((c)_n n!)``, ``A = a + b - k - 1 >= 0``.
    This is the Euler-transformed Gauss series of Fader, Hardie and Lee (2005), eq. (10),
    rewritten so that ``a = 1`` is a regular point.  Returns (Q, converged).
    """
    c = a + b - 1.0
    big_a = a + b - k - 1.0
    ell = -np.log1p(u)
    z = u / (1.0 + u)
    scale = np.exp((a - 1.0) * ell)
    term = scale * big_a * z / c
    total = term.copy()
    converged = np.zeros(term.shape, dtype=bool)
    for n in range(1, max_terms):
        term = term * ((big_a + n) * (a + n - 1.0) * z / ((c + n) * (n + 1.0)))
        total = total + term
        converged = np.abs(term) <= 1e-17 * np.abs(total) + 1e-300
        if converged.all():
            break
    q = c * (-ell * exprel((a - 1.0) * ell) - total)
    return q, converged


def _quadrature_q(a: Array, b: Array, k: Array, u: Array) -> Array:
    """Quadrature form of :func:`beta_purchase_expectation`, in ``y = logit(p)``.

    ``B(a, b) Q = int exp(a y) (1 + e^y)^-(a+b) h(sigmoid(y)) dy`` with
    ``h(p) = (1 - (1 + p u)^-k) / p``.  The two tails, where ``h`` is constant to
    machine precision, are integrated in closed form; the middle by :func:`log_integrate`.
    """
    h0 = k * u  # h(0)
    log_h1 = np.log(-np.expm1(-k * np.log1p(u)))  # log h(1)
    big = np.log(np.maximum.reduce([np.ones_like(u), (k + 1.0) * u, a + b, k + 1.0]))
    y0 = -big - 40.0
    y1 = big + 40.0
    mode = np.log(a) - np.log(b)

    def log_f(y: Array, idx: Array) -> Array:
        aa, bb, kk, uu = (v[idx][:, None] for v in (a, b, k, u))
        log_p = -np.logaddexp(0.0, -y)
        p = np.exp(log_p)
        log_h = np.log(-np.expm1(-kk * np.log1p(p * uu))) - log_p
        return aa * y - (aa + bb) * np.logaddexp(0.0, y) + log_h

    def step(y: Array, idx: Array) -> Array:
        aa, bb = a[idx], b[idx]
        sig = 1.0 / (1.0 + np.exp(-y))
        d1 = np.abs(aa - (aa + bb) * sig)
        d2 = (aa + bb) * sig * (1.0 - sig)
        return np.minimum.reduce(
            [np.ones_like(y), 4.0 / np.maximum(d1, 1e-300), 1.5 / np.sqrt(np.maximum(d2, 1e-300))]
        )

    body = log_integrate(log_f, step, y0, y1, np.clip(mode, y0, y1))
    left = np.log(h0) + a * y0 - np.log(a)  # int_{-inf}^{y0} e^{a y} dy * h(0)
    right = log_h1 - b * y1 - np.log(b)  # int_{y1}^{inf} e^{-b y} dy * h(1)
    total = logaddexp(logaddexp(body, left), right)
    return np.asarray(np.exp(total - betaln(a, b)))


def beta_purchase_expectation(a: Array, b: Array, k: Array, u: Array) -> NDArray[np.float64]:
    """``E[(1 - (1 + p u)^-k) / p]`` for ``p ~ Beta(a, b)``, elementwise.

    This is the expected number of purchases over a horizon ``t = u (alpha + T)`` of a
    BG/NBD-type customer who is alive, whose transaction rate has the gamma posterior
    ``Gamma(k, alpha + T)`` and whose dropout probability has the beta posterior
    ``Beta(a, b)`` (Fader, Hardie and Lee 2005, eq. 10).  It is finite for every
    ``a, b, k > 0`` and ``u >= 0``, including ``a = 1`` where the textbook formula
    divides by zero.
    """
    a, b, k, u = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(a, b, k, u))
    shape = a.shape
    a, b, k, u = (v.ravel() for v in (a, b, k, u))
    out = np.zeros(a.shape)
    pos = u > 0
    z = u / (1.0 + u)
    # the series has positive terms when a + b >= k + 1; for a > 100 its first terms
    # would underflow (they carry the factor (1 - z)^(a - 1))
    easy = pos & (z <= 0.75) & (a + b - k - 1.0 >= 0.0) & (a <= 100.0)
    hard = pos & ~easy
    if easy.any():
        q, ok = _series_q(a[easy], b[easy], k[easy], u[easy], 600)
        idx = np.flatnonzero(easy)
        out[idx[ok]] = q[ok]
        hard[idx[~ok]] = True
    if hard.any():
        out[hard] = _quadrature_q(a[hard], b[hard], k[hard], u[hard])
    return np.maximum(out, 0.0).reshape(shape)


def log_nbd_pmf(n: Array, r: Array, alpha: Array, t: Array) -> Array:
    """``log P(N(t) = n)`` for the NBD count (gamma(r, alpha) mixture of Poisson(lambda t))."""
    n, t = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(t, dtype=float))
    with np.errstate(divide="ignore"):
        log_ratio = np.log(t) - np.log(alpha + t)
    log_t_part = np.zeros(n.shape)
    np.multiply(n, log_ratio, out=log_t_part, where=n > 0)
    return (
        gammaln(r + n)
        - gammaln(r)
        - gammaln(n + 1.0)
        + r * (np.log(alpha) - np.log(alpha + t))
        + log_t_part
    )
