"""The daily close (日终 / COB) of servicing: ``run`` (runs, chunks, stages; in process or fanned
out over Celery by ``servicing.tasks``), ``chunk`` (the close of one range of loans in one
transaction), ``day_start`` (the start of the next day), ``fastpath`` (the set-based SQL),
``write_off`` (approving the write-offs it proposes). See docs/close.md."""

from .chunk import chunk_name, close_chunk
from .day_start import start_of_day_chunk
from .run import (
    CloseRefused, business_date_advance, chunk_bounds, close_chunk_execute, close_date, close_day, close_run_start,
    close_run_summary, close_stage_complete,
)

__all__ = ["CloseRefused", "business_date_advance", "chunk_bounds", "chunk_name", "close_chunk",
           "close_chunk_execute", "close_date", "close_day", "close_run_start", "close_run_summary",
           "close_stage_complete", "start_of_day_chunk"]
