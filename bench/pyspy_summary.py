"""Summarise a py-spy profile of the server: CPU by library, by function, and by top-level task.

    py-spy record --pid <server pid> --gil --nonblocking --rate 200 --format raw -o /tmp/prof.txt --duration 12
    python bench/pyspy_summary.py /tmp/prof.txt [--top 30] [--match claim_next create_run ...]

`--gil` keeps only the thread holding the GIL, so the samples are the server's Python CPU time. SQLAlchemy's
async layer runs each statement in a greenlet whose stack py-spy sees without its caller: those samples are
listed under "greenlet:" roots (the statement kind shows which repository call they belong to).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

FRAME = re.compile(r"(?P<function>.*) \((?P<file>.*?):(?P<line>\d+)\)$")
# The packages a leaf frame's file is charged to, checked in order (psycopg_pool before psycopg).
LIBRARIES = (
    "agent_server", "sqlalchemy", "psycopg_pool", "psycopg", "fastapi", "starlette", "sse_starlette", "uvicorn",
    "pydantic", "langgraph", "langchain_core", "anyio", "orjson", "asyncio", "concurrent", "threading", "logging",
    "greenlet", "json", "contextlib",
)
ENTRY_SUFFIX = "Runner.run"  # the event loop's frame: what follows it is one task's stack


def samples(path: Path) -> Iterator[tuple[list[str], int]]:
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def short(frame: str) -> str:
    match = FRAME.match(frame)
    return f"{match['function']} ({match['file']})" if match else frame


def library(frame: str) -> str:
    match = FRAME.match(frame)
    file = match["file"] if match else frame
    for name in LIBRARIES:
        if file.startswith(f"{name}/") or f"/{name}/" in file or file == f"{name}.py":
            return name
    return file.rsplit("/", 1)[-1] or "?"


def task_root(frames: list[str]) -> str:
    names = [short(f) for f in frames]
    for index, name in enumerate(names):
        if name.startswith(ENTRY_SUFFIX):
            return names[index + 1] if index + 1 < len(names) else "(event loop itself)"
    return "greenlet/thread: " + " > ".join(names[:3])


def report(title: str, counter: Counter[str], total: int, top: int) -> None:
    print(f"\n== {title}")
    for name, count in counter.most_common(top):
        print(f"{100 * count / total:5.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path, help="py-spy --format raw output")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", nargs="*", default=[], help="also report the inclusive share of these names")
    args = parser.parse_args()

    total = 0
    by_library: Counter[str] = Counter()
    by_task: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    for frames, count in samples(args.profile):
        total += count
        by_library[library(frames[-1])] += count
        by_task[task_root(frames)] += count
        names = {short(f) for f in frames}
        for name in names:
            inclusive[name] += count
        for wanted in args.match:
            if any(wanted in name for name in names):
                matched[wanted] += count
    if not total:
        raise SystemExit("no samples")
    print(f"{total} samples")
    report("self time by library", by_library, total, args.top)
    report("by top-level task", by_task, total, args.top)
    skip = ("typer", "click", "uvicorn/main.py", "uvicorn/server.py", "_compat.py", "runners.py", "cli.py", "<module>")
    interesting = Counter({n: c for n, c in inclusive.items() if not any(s in n for s in skip)})
    report("inclusive, by function", interesting, total, args.top)
    if args.match:
        report("inclusive, matched names", matched, total, len(args.match))


if __name__ == "__main__":
    main()
