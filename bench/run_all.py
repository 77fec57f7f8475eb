"""Run every benchmark under bench/ (bench_*.py) and report each one's exit status.

Each benchmark prints its own table of figures, targets and PASS/FAIL and writes JSON to
bench/results/. Pass --quick to run small smoke sizes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    extra = sys.argv[1:]
    failures = []
    for script in sorted(here.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        result = subprocess.run([sys.executable, str(script), *extra], cwd=here.parent)
        if result.returncode != 0:
            failures.append(script.name)
    print("\n基准全部完成" if not failures else f"\n未达标或出错：{', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
