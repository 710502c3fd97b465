"""The collector: the store's only writer. Maps spans (ours and other gen_ai spans) to rows."""

from collector.exporter import DuckDBSpanExporter
from collector.store import migrate, open_writer, write_catalog

__all__ = ["DuckDBSpanExporter", "migrate", "open_writer", "write_catalog"]
