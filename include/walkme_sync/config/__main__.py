"""``python -m include.walkme_sync.config [folder]``: validate every integration file offline.

Prints every problem and a one-line total; the exit status is 1 when any file has an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from include.walkme_sync.config.loading import integrations_folder, load_integrations
from include.walkme_sync.errors import ConfigurationError


def main(argv: list[str] | None = None) -> int:
    """Validate every integration file and print the problems; return 1 when any is an error."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else None
    try:
        result = load_integrations(folder)
    except ConfigurationError as exc:  # a broken report catalog
        print(exc, file=sys.stderr)
        return 1
    for problems in result.problems.values():
        for problem in problems:
            print(problem)
    errors, warnings = result.errors(), result.warnings()
    bad_files = len({p.file for p in errors})
    print(
        f"{len(result.integrations)} valid integration(s) in {integrations_folder(folder)}; "
        f"{len(errors)} error(s) in {bad_files} file(s), {len(warnings)} warning(s)."
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
