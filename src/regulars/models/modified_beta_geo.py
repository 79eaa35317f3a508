"""The MBG/NBD model (Batislam, Denizel and Filiztekin 2007; Hoppe and Wagner 2007).

Like the BG/NBD, but the customer may also drop out right after the first purchase (at
time 0), so a customer without repeat purchases is not assumed alive.  The likelihood
of ``x`` repeat purchases, the last at ``t_x``, observed until ``T`` is

    L = Gamma(r+x) alpha^r / Gamma(r) * [ B(a, b+x+1) / B(a, b) (alpha+T)^-(r+x)
                                        + B(a+1, b+x) / B(a, b) (alpha+t_x)^-(r+x) ],

``P(alive) = 1 / (1 + a / (b+x) ((alpha+T) / (alpha+t_x))^(r+x))`` for every ``x``,
and the conditional expectation is the BG/NBD one with the dropout posterior
``Beta(a, b+x+1)``.  The computation is shared with :class:`BetaGeoModel`.
"""

from __future__ import annotations

from typing import ClassVar

from regulars.models.beta_geo import BetaGeoModel

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD model: BG/NBD with a possible dropout right after the first purchase.

    Parameters and attributes are those of :class:`BetaGeoModel` (``r``, ``alpha``,
    ``a``, ``b``).

    References
    ----------
    Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical validation and
    comparison of models for customer base analysis. International Journal of Research
    in Marketing 24(3), 201-209.

    Hoppe, D. and Wagner, U. (2007). Customer base analysis: the case for a central
    variant of the Betageometric/NBD model. Marketing - Journal of Research and
    Management 3(2), 75-90.
    """

    _dropout_at_zero: ClassVar[bool] = True
