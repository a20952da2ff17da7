"""`finsam --help` start-up against a bare two-command Typer app in the same venv.

Prints the ratio of medians (target: at most 1.3). Runs are interleaved so that
machine noise hits both alike; absolute times mean little here.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 30
BARE = """
import typer
app = typer.Typer()
@app.command()
def one() -> None: ...
@app.command()
def two() -> None: ...
app()
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    finsam = str(Path(sys.executable).with_name("finsam"))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(BARE)
    bare = [sys.executable, f.name, "--help"]
    ours = [finsam, "--help"]
    for cmd in (bare, ours):  # warm the file cache
        timed(cmd)
    bare_times, our_times = [], []
    for _ in range(RUNS):
        bare_times.append(timed(bare))
        our_times.append(timed(ours))
    b, o = statistics.median(bare_times), statistics.median(our_times)
    print(f"bare typer --help : median {b * 1000:.0f} ms over {RUNS} runs")
    print(f"finsam --help     : median {o * 1000:.0f} ms over {RUNS} runs")
    print(f"ratio finsam/bare : {o / b:.2f}  (target <= 1.30)")
    Path(f.name).unlink()


if __name__ == "__main__":
    main()
