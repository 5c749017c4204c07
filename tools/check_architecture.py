"""Lint the architecture: services/repositories never commit, one Alembic head, files stay small."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "siyu"
MAX_LINES = 650
NO_COMMIT_FILES = ("service.py", "repository.py")
COMMIT = re.compile(r"\.commit\(\)")
# Import rules between layers: (files under this folder, must not import this module).
FORBIDDEN_IMPORTS = (
    (SRC, "fake_wecom"),  # the fake WeCom server is for tests and the demo, never the product's runtime
    (SRC / "channels", "siyu.journeys"),  # adapters plug into journeys, never the other way round
    (SRC / "channels", "siyu.wecom"),  # the protocol layer sits below the WeCom product package
)


def main() -> int:
    """Print every violation; exit 1 if there is any."""
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(ROOT)
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_LINES and "migrations" not in path.parts:
            problems.append(f"{rel}: {lines} lines (cap {MAX_LINES}); split it by sub-domain")
        if path.name in NO_COMMIT_FILES or path.parent.name in ("services", "repositories"):
            for number, line in enumerate(text.splitlines(), start=1):
                if COMMIT.search(line):
                    problems.append(f"{rel}:{number}: services and repositories never commit; the edge does")
        for folder, module in FORBIDDEN_IMPORTS:
            if path.is_relative_to(folder) and re.search(
                rf"^\s*(from|import) {re.escape(module)}\b", text, re.M
            ):
                problems.append(f"{rel}: imports {module}, which this layer must not depend on")
    sys.path.insert(0, str(ROOT / "src"))
    from siyu.db.migrate import heads

    found = heads()
    if len(found) != 1:
        problems.append(f"alembic has {len(found)} heads ({', '.join(found)}); it must have exactly one")
    for problem in problems:
        print(problem)
    if not problems:
        print("architecture: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
