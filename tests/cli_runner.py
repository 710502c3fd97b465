"""Running the `mmoa` command as a user would: a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without mmoa settings, API keys or SDK base URLs, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MMOA_") and not k.endswith("_API_KEY") and "BASE_URL" not in k
    }
    env["COLUMNS"] = "200"  # reports are wide; no terminal to ask
    env.update(extra)
    return env


def run_mmoa(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m mmoa ARGS`; `env` adds variables to the clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "mmoa", *args],
        capture_output=True,
        text=True,
        env=clean_env(**(env or {})),
        check=False,
    )
