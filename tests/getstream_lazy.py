"""Stream's ``getstream`` SDK, imported when a test first uses it, not at collection.

Its generated models take about two seconds to import, and every xdist worker collects every
test module, so importing it at module level cost each worker that time even when the other
one runs the SDK tests.
"""

from __future__ import annotations

import importlib
from typing import Any


class _Lazy:
    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        # pytest probes every module-level object for markers and fixture flags
        # (``__test__``, ``_pytestfixturefunction``…); those probes must not import the SDK.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(importlib.import_module(self._module), name)


sdk = _Lazy("getstream")
models = _Lazy("getstream.models")
exceptions = _Lazy("getstream.exceptions")
