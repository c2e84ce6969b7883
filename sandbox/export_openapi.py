"""Writes the sandbox's OpenAPI document: `python -m sandbox.export_openapi [path]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .app import create_app
from .settings import SandboxSettings

DEFAULT = Path(__file__).resolve().parent.parent / "docs" / "openapi" / "agency-sandbox.json"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEFAULT
    # In-memory and unseeded: the document depends on the code only, never on local data.
    app = create_app(SandboxSettings(database_url="sqlite://", allow_faults=True), prepare=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n",
                      encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
