"""Import great-expectations without loading the libraries our suite never uses.

`import great_expectations` runs the whole package (every expectation registers itself), and a
few of those modules import heavy optional libraries at module level only to use them inside
functions: scipy.stats (distribution and KL-divergence expectations) and altair (their charts).
They cost ~0.7 s of CPU and ~70 MB in every validate task, and our suite (column exists, not
null, regex, unique) calls neither. (GX's fingerprint of each batch is skipped too: see
`_skip_batch_fingerprint`.)

The import itself runs without the garbage collector (`paused_gc`): GX creates a few hundred
thousand objects, and each time their number grows by a quarter Python walks all of them (a full
collection) and finds almost nothing to free, ~0.4 s of CPU. What the import leaves is then frozen
(`gc.freeze`), so the collections of the step's own work do not walk the libraries' objects again
either. Both happen once per process, at the first import (a long-lived process, such as the
tests', freezes only what it held then); reference counting frees what it always freed.

So, just before GX is imported, each of them that is not loaded yet is put in `sys.modules` as a
*deferred* module: an empty stand-in that imports the real library the first time anything reads
an attribute of it (the standard library's `importlib.util.LazyLoader` would be the tool, but on
Python 3.11 the import system itself reads `__spec__` from it and so loads it at once). Whoever
uses the library later gets the real one; nothing of GX is changed or skipped.
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Imported by GX at module level, used only inside expectations our suite never runs.
DEFERRED_MODULES = ("scipy.stats", "altair")


class DeferredModule(types.ModuleType):
    """Stands in for a module until an attribute is read, then becomes a view of the real one."""

    def __getattr__(self, attribute: str) -> Any:
        # Only called for attributes this object lacks: the first real use of the library.
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def defer_unused_modules(names: tuple[str, ...] = DEFERRED_MODULES) -> None:
    """Put a `DeferredModule` in `sys.modules` for each module not imported yet."""
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = DeferredModule(name)


def import_great_expectations() -> types.ModuleType:
    """`great_expectations`, imported quietly and without its unused heavy dependencies."""
    # GX logs ~200 INFO lines about its own API docs registry on import: the task log should
    # show our validation summary, not that. Its warnings and errors still come through.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    if "great_expectations" not in sys.modules:
        defer_unused_modules()
        with paused_gc():
            import great_expectations.expectations  # what validation uses
        # Once, in a fresh task process (a long-lived one, such as the tests', freezes only
        # what it held at its first validation).
        gc.freeze()
    import great_expectations

    _skip_batch_fingerprint()
    # This module pins its own logger to INFO on import (one line per run about a temporary
    # docs folder we never use): lower it after the import.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return great_expectations


@contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic garbage collection inside the block (it is put back as it was after)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _skip_batch_fingerprint() -> None:
    """Stop GX fingerprinting each pandas batch: ~1.1 s of CPU per million report rows.

    GX hashes the whole frame (`pd.util.hash_pandas_object`, then md5) only to put the digest
    in the batch's metadata (`batch_markers`), which we never read; it skips that for frames of
    `HASH_THRESHOLD` bytes or more. A threshold of 0 skips it always; the expectations and their
    results are untouched.
    """
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0
