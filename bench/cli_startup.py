"""How fast `mmoa --help` answers (heavy imports are lazy). Prints one JSON line."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402


def main(runs: int = 15) -> None:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mmoa", "--help"], check=True, stdout=subprocess.DEVNULL
        )
        samples.append(time.perf_counter() - t)
    print(
        json.dumps(
            {
                "bench": "cli_startup",
                "command": "mmoa --help",
                "runs": runs,
                "median_s": round(statistics.median(samples), 3),
                "max_s": round(max(samples), 3),
                "goal_s": 0.3,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
