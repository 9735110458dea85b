"""Row locks of products: the one module of the app that takes them (``select_for_update``).

Publishing, editing and retiring a product serialise on its working copy's row, so two admins
publishing at once get consecutive versions and never the same number.
"""

from .models import LoanProduct

__all__ = ["product_lock"]


def product_lock(pk: int) -> LoanProduct:
    """The working copy ``pk``, read and locked until the transaction ends."""
    return LoanProduct.objects.select_for_update().get(pk=pk)
