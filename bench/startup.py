"""Start-up: `finsam --help` against a bare two-command Typer app, and the everyday
read commands against `finsam --help`, all in the same venv.

Targets: `--help` within 1.3× the bare app; each everyday read command within
2.5× of `--help` on a database of one förbund and one year (issue 17). The
database is built once through the CLI itself (init, the year's meetings, three
insatser and their reports, a plan). Runs are interleaved so that machine noise
hits all alike, and the figure is the ratio of medians; absolute times mean
little here. Both wall time and the CPU time of the process are reported: on a
busy machine CPU time is the steadier of the two.

Usage: python bench/startup.py [--runs N] [--only help|commands]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = """
import typer
app = typer.Typer()
@app.command()
def one() -> None: ...
@app.command()
def two() -> None: ...
app()
"""
CHEF = "annika.rasmusson@sydostraskane.example"
NOW = "2027-05-03T09:00"
# The everyday read commands of issue 17, as a person or a script runs them.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("plan", "list"),
    ("plan", "show", "1"),
    ("plan", "history", "1"),
    ("reports", "status", "--year", "2027"),
    ("cycle", "show", "--year", "2027"),
    ("meeting", "agenda", "1"),
    ("outbox", "list"),
    ("insats", "list"),
    ("insats", "show", "1"),
)


# What every command that reads the database must import, timed alone: Typer with
# the ORM stack (SQLAlchemy, pydantic, SQLModel), and finsam's tables and
# förbund-file models on top. No command can start faster than these. Imported
# as `finsam` imports, with the collector off (decision 61).
FLOORS = {
    "floor: typer+sqlmodel": "import gc; gc.disable(); import typer, sqlmodel",
    "floor: +tables, förbund file": (
        "import gc; gc.disable(); "
        "import typer, sqlmodel, workflow.core.models, workflow.forbund.registry"
    ),
}


def build(folder: Path, finsam: str) -> dict[str, str]:
    """A database of Sydöstra Skåne's 2027 made through the CLI; the environment to use it."""
    env = {
        **os.environ,
        "FINSAM_DATABASE_URL": f"sqlite:///{folder / 'finsam.db'}",
        "FINSAM_NOW": "2027-01-11T09:00",
        "FINSAM_USER": CHEF,
    }
    env.pop("FINSAM_MAIL_URL", None)
    steps = [
        ["init", "--forbund", "examples/forbund/sydostra-skane.toml"],
        ["cycle", "generate", "--year", "2027"],
        *(
            [
                "insats",
                "add",
                "--name",
                name,
                "--owner",
                owner,
                "--start",
                "2019-05-01",
                "--leader-name",
                "Sofia Ek",
                "--leader-email",
                "sofia.ek@skane.example",
                "--budget",
                "2027=1000",
            ]
            for name, owner in (
                ("Mariamottagningen", "region-skane"),
                ("ESF IRIS", "simrishamn"),
                ("Möjligheternas hus", "tomelilla"),
            )
        ),
        ["reports", "generate", "--year", "2027"],
        ["plan", "new", "--from", "examples/demo/sydostra-skane-2028.toml"],
    ]
    for step in steps:
        subprocess.run([finsam, *step], check=True, cwd=ROOT, env=env, capture_output=True)
    return {**env, "FINSAM_NOW": NOW}


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; a failing command stops the bench."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(cmds: dict[str, tuple[list[str], dict[str, str] | None]], runs: int) -> dict:
    """Medians of interleaved runs: {name: (wall, cpu)}."""
    for cmd, env in cmds.values():  # warm the file cache
        timed(cmd, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, (cmd, env) in cmds.items():
            times[name].append(timed(cmd, env))
    return {
        name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
        for name, ts in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", choices=("help", "commands"))
    args = parser.parse_args()
    finsam = str(Path(sys.executable).with_name("finsam"))
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="finsam-startup-") as tmp:
        folder = Path(tmp)
        bare_file = folder / "bare.py"
        bare_file.write_text(BARE)
        cmds: dict[str, tuple[list[str], dict[str, str] | None]] = {
            "bare typer --help": ([sys.executable, str(bare_file), "--help"], None),
            "finsam --help": ([finsam, "--help"], None),
        }
        if args.only != "help":
            env = build(folder, finsam)
            # the floor: what any command that touches the database imports, and nothing else
            for name, code in FLOORS.items():
                cmds[name] = ([sys.executable, "-c", code], None)
            for c in COMMANDS:
                cmds["finsam " + " ".join(c)] = ([finsam, *c], env)
        medians = measure(cmds, args.runs)
    bare, help_ = medians["bare typer --help"], medians["finsam --help"]
    print(f"{'command':34s} {'wall':>8s} {'cpu':>8s}   ratio (wall, cpu)")
    for name, (wall, cpu) in medians.items():
        base = bare if name in ("bare typer --help", "finsam --help") else help_
        print(
            f"{name:34s} {wall * 1000:6.0f}ms {cpu * 1000:6.0f}ms   "
            f"{wall / base[0]:4.2f} {cpu / base[1]:4.2f}"
        )
    result["help_vs_bare"] = round(help_[0] / bare[0], 2)
    result["help_vs_bare_cpu"] = round(help_[1] / bare[1], 2)
    commands = {
        n: m for n, m in medians.items() if n.startswith("finsam ") and n != "finsam --help"
    }
    floors = {n: m for n, m in medians.items() if n.startswith("floor")}
    if floors:
        result["floors_vs_help"] = {n: round(m[0] / help_[0], 2) for n, m in floors.items()}
        result["floors_vs_help_cpu"] = {n: round(m[1] / help_[1], 2) for n, m in floors.items()}
    if commands:
        result["commands_vs_help"] = {n: round(m[0] / help_[0], 2) for n, m in commands.items()}
        result["commands_vs_help_cpu"] = {n: round(m[1] / help_[1], 2) for n, m in commands.items()}
    print(f"--help vs bare Typer: {result['help_vs_bare']} (target <= 1.30)")
    if commands:
        worst = max(result["commands_vs_help"].values())  # type: ignore[union-attr]
        print(f"worst everyday command vs --help: {worst} (target <= 2.50)")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
