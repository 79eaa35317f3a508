"""The integral of the Pareto/NBD likelihood, with its exact real gradient.

The "died between ``t_x`` and ``T``" part of the Pareto/NBD likelihood is

    I = int_{t_x}^{T} (alpha+y)^-p (beta+y)^-q dy,   p = r + x,  q = s + 1,

(Fader and Hardie 2005, "A note on deriving the Pareto/NBD model", eq. 22, where it is
``A_0`` times ``s / (r + s + x)``).  Here ``I = J(t_x) - J(T)`` with the tail

    J(t) = int_t^inf (alpha+y)^-p (beta+y)^-q dy,

which depends on ``x`` and one end point only.  A customer base has far fewer distinct
``(x, t_x)`` and ``(x, T)`` pairs than ``(x, t_x, T)`` tuples (on the 1 M-customer
benchmark book, 38 K pairs against 453 K tuples), so :class:`ParetoIntegral` computes
``J`` once per pair and combines two of them per tuple.

``J`` is computed with ``M, m`` the larger and smaller of ``alpha, beta`` and ``e_M,
e_m`` their exponents, ``a = p + q - 1`` and ``z = (M - m) / (M + t)``:

* **Series** (``z <= z*``): expanding ``(m+y)^-e_m = (M+y)^-e_m (1 - (M-m)/(M+y))^-e_m``
  gives ``J = (M+t)^-a sum_n (e_m)_n z^n / (n! (a + n))``, a Gauss hypergeometric series
  with positive terms.  Its derivatives are series of the same terms times
  ``-1/(a+n)`` (in ``a``), ``sum_{k<n} 1/(e_m+k)`` (in ``e_m``, the digamma
  difference of the Pochhammer factor) and ``n/z`` (in ``z``), summed in the same pass.
  ``z* = min(1/2, 50/(e_m+50))`` keeps the series under ~150 terms.
* **Quadrature, then series** (``z > z*``): ``J(t) = int_t^{t*} + J(t*)`` with
  ``z(t*) = z*``.  The finite part is integrated in ``zeta = log((m+y)/(m+t))``, where
  the integrand is log-concave, by the Gauss-Legendre panel march of
  :func:`~regulars.models._numerics.log_integrate_moments`, which also returns the
  integrand-weighted means of the log-integrand's derivatives (the gradient under the
  integral sign).  ``t*`` depends on the parameters, but the boundary terms of the two
  parts cancel, so the gradient is the sum of the two parts' partial derivatives.

Where ``T - t_x`` is shorter than the integrand's scale, ``J(t_x) - J(T)`` would cancel;
those tuples take ten Gauss-Legendre nodes in ``y`` directly.  Everything is real: no
complex step, no finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from regulars.models._numerics import log1mexp, log_integrate, log_integrate_moments

__all__ = ["ParetoIntegral", "log_pareto_integral", "log_pareto_tail"]

Array = NDArray[Any]
#: the series' terms are summed until they fall below this fraction of the sum
_TOL = 1e-17
_MAX_TERMS = 400


def _series(
    e_big: Array, e_small: Array, big: float, small: float, t: Array, *, gradient: bool = True
) -> tuple[Array, Array | None]:
    """``log J`` and its gradient in ``(e_M, e_m, M, m)`` by the Gauss series (``z`` small);
    None for the gradient without ``gradient`` (the same value, about half the work)."""
    a = e_big + e_small - 1.0
    mt = big + t
    z = (big - small) / mt
    if not gradient:
        return -a * np.log(mt) + np.log(_series_value(e_small, z, a)), None
    # the sums, per lane: S = sum g/(a+n), S_a = sum g/(a+n)^2, S_h = sum g h/(a+n) and
    # S_z = sum k/(a+n), with g = (e_m)_n z^n / n!, k = dg/dz = n g / z and
    # h = sum_{j<n} 1/(e_m+j) = d log (e_m)_n / d e_m
    sums = np.empty((4, t.size))
    s0, s_a = 1.0 / a, 1.0 / a**2
    s_h, s_z = np.zeros(t.size), np.zeros(t.size)
    # the lanes still summing, compacted as they finish
    idx: Array = np.arange(t.size)
    em, zi, ai = e_small, z, a
    k: Array = e_small.copy()
    h: Array = np.zeros(t.size)
    peak: Array = (e_small - 1.0) * z / (1.0 - z)  # the terms grow up to about here
    for n in range(1, _MAX_TERMS):
        if n > 1:
            k = k * (em + (n - 1.0)) * zi / (n - 1.0)
        h = h + 1.0 / (em + (n - 1.0))
        inv = 1.0 / (ai + n)
        term = k * zi * inv / n
        s0 = s0 + term
        s_a = s_a + term * inv
        s_h = s_h + term * h
        s_z = s_z + k * inv
        done = (term <= _TOL * s0) & (n > peak)
        if done.any():
            sums[:, idx[done]] = (s0[done], s_a[done], s_h[done], s_z[done])
            keep = ~done
            if not keep.any():
                break
            idx, em, zi, ai, k, h, peak = (v[keep] for v in (idx, em, zi, ai, k, h, peak))
            s0, s_a, s_h, s_z = (v[keep] for v in (s0, s_a, s_h, s_z))
    else:  # pragma: no cover - z <= z* bounds the number of terms
        raise RuntimeError("internal series did not converge; please report this bug")
    s0, s_a, s_h, s_z = sums
    log_mt = np.log(mt)
    log_j = -a * log_mt + np.log(s0)
    d_a = -log_mt - s_a / s0
    d_z = s_z / s0
    grad = np.stack(
        [
            d_a,  # e_M
            d_a + s_h / s0,  # e_m
            -a / mt + d_z * (small + t) / mt**2,  # M
            -d_z / mt,  # m
        ]
    )
    return log_j, grad


def _series_value(e_small: Array, z: Array, a: Array) -> Array:
    """The sum ``S`` of :func:`_series` alone: the same terms, summed in the same order and
    stopped at the same term, so ``log J`` is identical to the gradient pass's."""
    out = np.empty(z.size)
    s0 = 1.0 / a
    idx: Array = np.arange(z.size)
    em, zi, ai = e_small, z, a
    k: Array = e_small.copy()
    peak: Array = (e_small - 1.0) * z / (1.0 - z)
    for n in range(1, _MAX_TERMS):
        if n > 1:
            k = k * (em + (n - 1.0)) * zi / (n - 1.0)
        term = k * zi * (1.0 / (ai + n)) / n
        s0 = s0 + term
        done = (term <= _TOL * s0) & (n > peak)
        if done.any():
            out[idx[done]] = s0[done]
            keep = ~done
            if not keep.any():
                break
            idx, em, zi, ai, k, peak, s0 = (v[keep] for v in (idx, em, zi, ai, k, peak, s0))
    else:  # pragma: no cover - z <= z* bounds the number of terms
        raise RuntimeError("internal series did not converge; please report this bug")
    return out


def _z_star(e_small: Array) -> Array:
    return np.minimum(0.5, 50.0 / (np.asarray(e_small) + 50.0))


def _quadrature(
    e_big: Array,
    e_small: Array,
    big: float,
    small: float,
    t: Array,
    t_star: Array,
    *,
    gradient: bool = True,
) -> tuple[Array, Array | None]:
    """``log int_t^{t*}`` and its gradient in ``(e_M, e_m, M, m)``, in ``zeta`` (None for
    the gradient without ``gradient``: the same panels and value)."""
    a = e_big + e_small - 1.0
    mt = small + t
    log_mt = np.log(mt)
    log_w = np.log((big - small) / mt)
    top = np.log((small + t_star) / mt)

    def log_f(zeta: Array, idx: Array) -> Array:
        em, eb, lw = e_small[idx][:, None], e_big[idx][:, None], log_w[idx][:, None]
        return (1.0 - em) * zeta - eb * np.logaddexp(zeta, lw)

    def moments(zeta: Array, idx: Array) -> Array:
        lmt, lw = log_mt[idx][:, None], log_w[idx][:, None]
        log_small = lmt + zeta  # log(m + y)
        log_big = lmt + np.logaddexp(zeta, lw)  # log(M + y)
        return np.stack([log_small, log_big, np.exp(-log_small), np.exp(-log_big)])

    def step(zeta: Array, idx: Array) -> Array:
        em, eb = e_small[idx], e_big[idx]
        sig = 1.0 / (1.0 + np.exp(log_w[idx] - zeta))
        d1 = np.abs(1.0 - em - eb * sig)
        d2 = eb * sig * (1.0 - sig)
        return np.minimum.reduce(
            [
                np.ones_like(zeta),
                4.0 / np.maximum(d1, 1e-300),
                1.5 / np.sqrt(np.maximum(d2, 1e-300)),
            ]
        )

    # the mode: 1 - e_m = e_M sigma, sigma = e^zeta / (e^zeta + w)
    sig = (1.0 - e_small) / e_big
    with np.errstate(divide="ignore", invalid="ignore"):
        mode = np.where((sig > 0) & (sig < 1), log_w + np.log(sig) - np.log1p(-sig), 0.0)
    mode = np.clip(mode, 0.0, top)
    if not gradient:
        body = log_integrate(log_f, step, np.zeros_like(top), top, mode)
        return -a * log_mt + body, None
    body, (m_small, m_big, inv_small, inv_big) = log_integrate_moments(
        log_f, moments, step, np.zeros_like(top), top, mode
    )
    log_q = -a * log_mt + body
    grad = np.stack([-m_big, -m_small, -e_big * inv_big, -e_small * inv_small])
    return log_q, grad


def log_pareto_tail(
    p: Array, alpha: float, q: float, beta: float, t: Array, *, gradient: bool = True
) -> tuple[Array, Array | None]:
    """``log J(t) = log int_t^inf (alpha+y)^-p (beta+y)^-q dy`` and its gradient.

    ``p`` and ``t`` are arrays (one lane each), ``alpha, q, beta`` scalars, ``p + q > 1``.
    The gradient has rows ``d/dp, d/dalpha, d/dq, d/dbeta``; without ``gradient`` it is
    None and only the value is computed (the same value, for scoring).
    """
    p = np.asarray(p, dtype=float)
    t = np.asarray(t, dtype=float)
    qa = np.full(t.shape, float(q))
    a_big = alpha >= beta
    big, small = (alpha, beta) if a_big else (beta, alpha)
    e_big, e_small = (p, qa) if a_big else (qa, p)
    log_j = np.empty(t.shape)
    z_star = _z_star(e_small)
    z = (big - small) / (big + t)
    easy = z <= z_star
    hard = ~easy
    if not gradient:
        if easy.any():
            log_j[easy] = _series(e_big[easy], e_small[easy], big, small, t[easy], gradient=False)[
                0
            ]
        if hard.any():
            eb, es, th, zs = e_big[hard], e_small[hard], t[hard], z_star[hard]
            t_star = (big - small) / zs - big
            lq = _quadrature(eb, es, big, small, th, t_star, gradient=False)[0]
            lt = _series(eb, es, big, small, t_star, gradient=False)[0]
            log_j[hard] = np.logaddexp(lq, lt)
        return log_j, None
    grad = np.empty((4, t.size))
    if easy.any():
        log_j[easy], grad[:, easy] = _series(e_big[easy], e_small[easy], big, small, t[easy])
    if hard.any():
        eb, es, th, zs = e_big[hard], e_small[hard], t[hard], z_star[hard]
        t_star = (big - small) / zs - big
        lq, gq = _quadrature(eb, es, big, small, th, t_star)
        lt, gt = _series(eb, es, big, small, t_star)
        assert gq is not None
        assert gt is not None
        log_j[hard] = np.logaddexp(lq, lt)
        share = np.exp(lq - log_j[hard])
        grad[:, hard] = share * gq + (1.0 - share) * gt
    # rows (e_M, e_m, M, m) -> (p, alpha, q, beta)
    order = [0, 2, 1, 3] if a_big else [1, 3, 0, 2]
    return log_j, grad[order]


def _gauss_legendre(n: int) -> tuple[Array, Array]:
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (nodes + 1.0) / 2.0, weights / 2.0


#: Gauss-Legendre rules for intervals shorter than the integrand's scale, by the span
#: ``w = (T - t_x) / (min(alpha, beta) + t_x)``: in ``eta = log1p((y - t_x) / (min +
#: t_x))`` the nearer singularity is gone and the other is at least pi off the real
#: axis, so ``n`` nodes are exact to ~1e-15 for ``log1p(w) <= 0.22, 1.6, 6.4``.  Wider
#: spans (only when ``r + x < 0.002``) take the difference of the tails.
_SHORT_RULES = [
    (0.25, *_gauss_legendre(5)),
    (4.0, *_gauss_legendre(10)),
    (600.0, *_gauss_legendre(20)),
]


def _short_integral(
    p: Array,
    alpha: float,
    q: float,
    beta: float,
    t_x: Array,
    near: Array,
    width: Array,
    nodes: Array,
    weights: Array,
    *,
    gradient: bool,
) -> tuple[Array, Array | None]:
    """``log int_{t_x}^{T}`` and its gradient in ``(p, alpha, q, beta)``, by Gauss-Legendre
    in ``eta = log1p((y - t_x) / near)``, ``near = min(alpha, beta) + t_x``."""
    span = np.log1p(width)
    eta = span[:, None] * nodes[None, :]
    y = t_x[:, None] + near[:, None] * np.expm1(eta)
    la, lb = np.log(alpha + y), np.log(beta + y)
    pp = p[:, None]
    terms = -pp * la - q * lb + eta + np.log(near[:, None] * span[:, None] * weights[None, :])
    top = terms.max(axis=1, keepdims=True)
    wts = np.exp(terms - top)
    total = wts.sum(axis=1)
    log_i = top[:, 0] + np.log(total)
    if not gradient:
        return log_i, None
    wts /= total[:, None]
    grad = np.stack(
        [
            -(wts * la).sum(axis=1),
            -(wts * pp / (alpha + y)).sum(axis=1),
            -(wts * lb).sum(axis=1),
            -(wts * q / (beta + y)).sum(axis=1),
        ]
    )
    return log_i, grad


@dataclass
class ParetoIntegral:
    """``log I`` for tuples ``(x, t_x, T)``, from ``J`` on their distinct end points.

    Build once per data set (the pair codes are kept), then call :meth:`value` or
    :meth:`with_gradient` for each parameter vector.
    """

    x: Array
    t_x: Array
    t_end: Array
    pair_x: Array
    pair_t: Array
    code_x: NDArray[np.intp]
    code_t: NDArray[np.intp]
    #: the parameters and the result of the last call (value-only calls reuse it)
    _last: tuple[tuple[float, ...], Array] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, x: Array, t_x: Array, t_end: Array) -> ParetoIntegral:
        x, t_x, t_end = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(x, t_x, t_end))
        x, t_x, t_end = x.ravel(), t_x.ravel(), t_end.ravel()
        n = x.size
        # one integer key per (x, t) pair: a 1-D unique is much faster than unique rows
        xs, x_code = np.unique(x, return_inverse=True)
        ts, t_code = np.unique(np.concatenate([t_x, t_end]), return_inverse=True)
        key = np.concatenate([x_code, x_code]).astype(np.int64) * ts.size + t_code
        keys, codes = np.unique(key, return_inverse=True)
        codes = codes.ravel().astype(np.intp)
        pair_x, pair_t = xs[keys // ts.size], ts[keys % ts.size]
        return cls(x, t_x, t_end, pair_x, pair_t, codes[:n], codes[n:])

    def with_gradient(
        self, r: float, alpha: float, s: float, beta: float, *, gradient: bool = True
    ) -> tuple[Array, Array | None]:
        """``log I`` per tuple (``-inf`` where ``t_x == T``) and its gradient in ``(r, alpha,
        s, beta)`` (rows), or None without ``gradient``."""
        key = (r, alpha, s, beta)
        last = self._last  # read once: another thread may replace it
        if not gradient and last is not None and last[0] == key:
            return last[1], None  # e.g. P(alive) again for each horizon of a forecast
        x, t_x, t_end = self.x, self.t_x, self.t_end
        p, q = r + x, s + 1.0
        out = np.full(x.shape, -np.inf)
        grad = np.zeros((4, x.size)) if gradient else None
        open_ = t_end > t_x
        decay = p / (alpha + t_x) + q / (beta + t_x)
        # the span relative to the distance to the nearer singularity, y = -min(alpha, beta)
        near = min(alpha, beta) + t_x
        width = (t_end - t_x) / near
        short = open_ & ((t_end - t_x) * decay < 1.0) & (width <= _SHORT_RULES[-1][0])
        far = open_ & ~short
        if far.any():
            lj, gj = log_pareto_tail(
                r + self.pair_x, alpha, q, beta, self.pair_t, gradient=grad is not None
            )
            c1, c2 = self.code_x[far], self.code_t[far]
            l1, l2 = lj[c1], lj[c2]
            out[far] = l1 + log1mexp(l2 - l1)
            if grad is not None and gj is not None:
                rho = np.exp(l2 - l1)
                grad[:, far] = (gj[:, c1] - rho * gj[:, c2]) / (1.0 - rho)
        lower = 0.0
        for upper, nodes, weights in _SHORT_RULES:
            sel = np.flatnonzero(short & (width > lower) & (width <= upper))
            lower = upper
            if sel.size == 0:
                continue
            log_i, g = _short_integral(
                p[sel],
                alpha,
                q,
                beta,
                t_x[sel],
                near[sel],
                width[sel],
                nodes,
                weights,
                gradient=grad is not None,
            )
            out[sel] = log_i
            if grad is not None:
                grad[:, sel] = g
        out.flags.writeable = False  # shared by the callers that ask again
        self._last = (key, out)
        return out, grad


#: The last few ParetoIntegral built by :func:`log_pareto_integral`: scoring with parameter
#: intervals evaluates the same tuples under dozens of parameter draws.
_RECENT: tuple[ParetoIntegral, ...] = ()
_RECENT_SIZE = 4


def _integral_of(x: Array, t_x: Array, t_end: Array) -> ParetoIntegral:
    """``ParetoIntegral.of``, reusing a recent one built from equal arrays."""
    global _RECENT
    x, t_x, t_end = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(x, t_x, t_end))
    x, t_x, t_end = x.ravel(), t_x.ravel(), t_end.ravel()
    for old in _RECENT:
        if (
            old.x.size == x.size
            and np.array_equal(old.x, x)
            and np.array_equal(old.t_x, t_x)
            and np.array_equal(old.t_end, t_end)
        ):
            return old
    new = ParetoIntegral.of(x.copy(), t_x.copy(), t_end.copy())
    _RECENT = (new, *_RECENT[: _RECENT_SIZE - 1])
    return new


def log_pareto_integral(
    r: float, alpha: float, s: float, beta: float, x: Array, t_x: Array, t_end: Array
) -> Array:
    """``log int_{t_x}^{T} (alpha+y)^-(r+x) (beta+y)^-(s+1) dy``, elementwise (``-inf``
    where ``t_x == T``)."""
    log_i, _ = _integral_of(x, t_x, t_end).with_gradient(
        float(r), float(alpha), float(s), float(beta), gradient=False
    )
    return log_i.reshape(np.broadcast(np.asarray(x), np.asarray(t_x), np.asarray(t_end)).shape)
