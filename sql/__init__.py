"""The SQL surface as files: numbered migrations, views, example queries (package mmoa.sql)."""

from importlib import resources


def read(folder: str, name: str) -> str:
    """Text of sql/<folder>/<name>."""
    return resources.files(f"mmoa.sql.{folder}").joinpath(name).read_text(encoding="utf-8")


def listing(folder: str) -> list[str]:
    """The .sql files of sql/<folder>, in name order (numbered files apply in order)."""
    files = resources.files(f"mmoa.sql.{folder}").iterdir()
    return sorted(f.name for f in files if f.name.endswith(".sql"))
