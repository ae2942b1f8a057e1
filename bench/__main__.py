"""Run every bench/bench_*.py script in turn and print the merged results table."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULTS

HERE = Path(__file__).resolve().parent


def main() -> int:
    if RESULTS.exists():
        RESULTS.unlink()
    failures = []
    for script in sorted(HERE.glob("bench_*.py")):
        name = f"bench.{script.stem}"
        print(f"== {name}", flush=True)
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", name], cwd=HERE.parent)
        print(f"   ({time.monotonic() - start:.1f} s)", flush=True)
        if done.returncode != 0:
            failures.append(name)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    print("\n{:34s} {:>12}".format("metric", "value"))
    for key in sorted(results):
        print(f"{key:34s} {results[key]:>12}")
    if failures:
        print("failed: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
