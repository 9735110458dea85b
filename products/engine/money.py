"""The engine's view of the project's one money module (``creditfactory.core.money``): the
explicit decimal context and fen rounding. Every amount the engine produces is a ``Decimal``
with exponent -2, rounded ROUND_HALF_UP at the points the repayment conventions define (each
interest amount, the annuity payment, each principal part)."""

from creditfactory.core.money import FEN, MONEY_CONTEXT, ZERO, money_context, quantize_fen

__all__ = ["FEN", "MONEY_CONTEXT", "ZERO", "money_context", "quantize_fen"]
