"""Reads of the pages, remembered while the store file cannot change.

The dashboard holds the store file open read-only, and DuckDB then lets no process write it:
the same read gives the same rows until the file is replaced, so answers are kept per file
version (path, inode, modification time, size). Through a collector the data grows, so every
read goes to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:
    from analytics import Source
    from dashboard.context import Context


def file_version(path: str) -> str | None:
    """Identity of the store file's current content; None if it cannot be read."""
    try:
        s = os.stat(path)
    except OSError:
        return None
    return f"{os.path.abspath(path)}:{s.st_ino}:{s.st_mtime_ns}:{s.st_size}"


@st.cache_data(show_spinner=False, max_entries=512)
def _remembered(key: str, _read: Callable[[], Any]) -> Any:
    return _read()


def remembered(version: str | None, fn: Callable[..., Any], source: Source, *args: Any) -> Any:
    """fn(source, *args), from memory when the same read of the same file version was done."""
    if version is None:
        return fn(source, *args)
    key = repr((version, fn.__module__, fn.__qualname__, args))
    return _remembered(key, lambda: fn(source, *args))


def read(ctx: Context, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(ctx.source, *args), remembered per file version (never through a collector)."""
    return remembered(ctx.version, fn, ctx.source, *args)
