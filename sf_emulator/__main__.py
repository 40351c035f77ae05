"""``python -m sf_emulator``: run the local Salesforce in the foreground.

The first line on stdout is one JSON object (addresses, trust bundle, both orgs' credentials), so
scripts can start the emulator and read how to reach it. Ctrl-C or SIGTERM stops it cleanly.

Seed file (``--seed-file``, JSON or YAML)::

    {"sandbox": {"Lead": [{"LastName": "Doe", "Company": "Acme", "Email": "jd@acme.example"}],
                 "Contact": "contacts.csv"},
     "production": {"Lead": {"generate": 1000, "seed": 7}}}

A list gives records, a string a ``.csv``/``.json`` file (relative to the seed file), and
``{"generate": n, "seed": s}`` synthetic people.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from sf_emulator.ca import DEFAULT_DATA_DIR
from sf_emulator.runtime import DEFAULT_DAILY_LIMIT
from sf_emulator.testing import EmulatorServer

DEFAULT_PORT = 18443


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sf_emulator", description="Local Salesforce emulator"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--seed-file", type=Path, default=None)
    parser.add_argument("--daily-limit", type=int, default=DEFAULT_DAILY_LIMIT)
    parser.add_argument(
        "--rotate-refresh-tokens",
        action="store_true",
        help="rotate refresh tokens: each refresh answers a new one and the old one stops working",
    )
    parser.add_argument("--verbose", action="store_true", help="log server errors to stderr")
    return parser.parse_args(argv)


def load_seed_file(emulator: EmulatorServer, path: Path) -> dict[str, dict[str, int]]:
    """Seed both orgs from a JSON/YAML file; returns record counts per org and object."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        spec = yaml.safe_load(text)
    else:
        spec = json.loads(text)
    loaded: dict[str, dict[str, int]] = {}
    for org_name, objects in (spec or {}).items():
        data = emulator.org(org_name).data
        for object_name, source in objects.items():
            ids = _seed_object(data, object_name, source, path.parent)
            loaded.setdefault(org_name, {})[object_name] = len(ids)
    return loaded


def _seed_object(data: Any, object_name: str, source: Any, base: Path) -> list[str]:
    if isinstance(source, list):
        return list(data.load_records(object_name, source))
    if isinstance(source, str):
        return list(data.load_file(object_name, base / source))
    if isinstance(source, dict) and "generate" in source:
        return list(
            data.generate(object_name, int(source["generate"]), seed=int(source.get("seed", 0)))
        )
    raise ValueError(f"seed for {object_name}: expected a list, a file name or {{'generate': n}}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    emulator = EmulatorServer(port=args.port, data_dir=args.data_dir, daily_limit=args.daily_limit)
    emulator.rotate_refresh_tokens = args.rotate_refresh_tokens
    emulator.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        info = emulator.info()
        if args.seed_file:
            info["seeded"] = load_seed_file(emulator, args.seed_file)
        # Line 1 is the machine-readable contract; anything human comes after it.
        print(json.dumps(info), flush=True)
        print(
            f"Salesforce emulator on {emulator.instance_url} (proxy {emulator.proxy_url}); "
            f"export REQUESTS_CA_BUNDLE={emulator.trust_bundle}",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
