"""Analytics: read-only queries over the store, through the views and macros in sql/."""

from analytics import dashboard
from analytics.dashboard import Filters
from analytics.errors import AnalyticsError, StoreUnavailable, WriteRefused
from analytics.reader import CollectorReader, Reader, Source, rows_of
from analytics.report import GROUPINGS, Report, build, hourly, savings, unpriced_note
from analytics.store import open_reader, query

__all__ = [
    "GROUPINGS",
    "CollectorReader",
    "Filters",
    "Reader",
    "Source",
    "rows_of",
    "AnalyticsError",
    "Report",
    "StoreUnavailable",
    "WriteRefused",
    "build",
    "dashboard",
    "hourly",
    "open_reader",
    "query",
    "savings",
    "unpriced_note",
]
