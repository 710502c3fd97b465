"""Errors of the collector (the store's writer)."""


class CollectorError(Exception):
    """Base of every collector error."""


class StoreLocked(CollectorError):
    """Another process holds the DuckDB file."""
