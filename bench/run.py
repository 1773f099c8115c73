"""Run PlantOS benchmarks: ``python bench/run.py [MODULE ...] [-- ARGS]``.

Without modules, runs every ``bench/*.py`` that defines ``main()`` (except
``common.py`` and this file), in name order. A module is given as a path
(``bench/historian_write.py``) or a name (``historian_write``). Arguments after
``--`` go to every module's ``main()``; ``--quick`` is passed on by itself. Each
module runs in its own interpreter, so one module's memory and threads do not
weigh on the next, and updates its section of docs/benchmarks.md.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SKIP = {"common.py", "run.py"}


def defines_main(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError:
        return False
    return any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)


def discover() -> list[Path]:
    return [p for p in sorted(BENCH_DIR.glob("*.py")) if p.name not in SKIP and defines_main(p)]


def resolve(name: str) -> Path:
    for candidate in (Path(name), BENCH_DIR / name, BENCH_DIR / f"{name}.py"):
        if candidate.is_file():
            return candidate.resolve()
    raise SystemExit(f"no bench module {name!r} (known: {', '.join(p.stem for p in discover())})")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv[:1] or "--help" in argv[:1]:
        print(__doc__)
        return 0
    passed: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passed = argv[:cut], argv[cut + 1 :]
    if "--quick" in argv:
        argv.remove("--quick")
        passed.append("--quick")
    modules = [resolve(a) for a in argv] if argv else discover()
    if not modules:
        print("no bench modules found")
        return 1
    failed = []
    for path in modules:
        print(f"=== {path.stem} {' '.join(passed)}".rstrip(), flush=True)
        started = time.perf_counter()
        code = subprocess.call(
            [
                sys.executable,
                "-c",
                "import runpy, sys; mod = runpy.run_path(sys.argv[1]); "
                "raise SystemExit(mod['main'](sys.argv[2:]))",
                str(path),
                *passed,
            ],
            cwd=BENCH_DIR.parent,
        )
        print(
            f"=== {path.stem}: {'ok' if code == 0 else f'FAILED ({code})'} "
            f"in {time.perf_counter() - started:.0f} s\n",
            flush=True,
        )
        if code:
            failed.append(path.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
