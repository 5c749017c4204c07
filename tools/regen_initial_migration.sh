#!/usr/bin/env bash
# Until the first release the schema is one migration; regenerate it from the models after a model change.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/siyu/migrations/versions/*_0001_initial_schema.py
.venv/bin/python - "$tmp/gen.db" <<'PY'
import sys
from alembic import command
from siyu.db.migrate import alembic_config
command.revision(alembic_config(f"sqlite:///{sys.argv[1]}"), message="initial schema", autogenerate=True, rev_id="0001")
PY
rm -rf "$tmp"
f=$(ls src/siyu/migrations/versions/*_0001_initial_schema.py)
mv "$f" src/siyu/migrations/versions/20261123_0001_initial_schema.py 2>/dev/null || true
.venv/bin/ruff check --fix -q src/siyu/migrations >/dev/null || true
.venv/bin/ruff format -q src/siyu/migrations
echo "regenerated src/siyu/migrations/versions/20261123_0001_initial_schema.py"
