"""The daily close (日终 / COB) of servicing: see ``run`` (synchronous), ``chunk`` (one range of
loans in one transaction) and ``fastpath`` (its set-based SQL); docs/servicing.md."""

from .chunk import chunk_name, close_chunk, start_of_day_chunk
from .run import CloseRefused, business_date_advance, chunk_bounds, close_date, close_day

__all__ = ["CloseRefused", "business_date_advance", "chunk_bounds", "chunk_name", "close_chunk", "close_date",
           "close_day", "start_of_day_chunk"]
