"""Errors of the analytics package."""


class AnalyticsError(Exception):
    """Base of every analytics error."""


class StoreUnavailable(AnalyticsError):
    """The store file is missing or held by a writer."""


class WriteRefused(AnalyticsError):
    """A query tried to change the store; reads only here."""
