"""``mypyc_attr``: a mark read by mypyc when the hot engine modules are compiled, nothing otherwise.

A class compiled by mypyc runs ``__init__`` from ``__new__`` unless it is marked serializable,
and then unpickling (snapshots) fails: ``serializable=True`` keeps Python's semantics. With mypyc
2.4.1, serializable alone also skips ``__init__`` when the class is called from interpreted code
(mypyc/mypyc#1172); ``allow_interpreted_subclasses=True`` as well avoids that. Interpreted,
without mypy_extensions installed, the decorator does nothing.
"""

from __future__ import annotations

from typing import Any

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover - the plain interpreted engine
    def mypyc_attr(*attrs: str, **kwattrs: object) -> Any:  # type: ignore[misc]
        return lambda cls: cls

__all__ = ["mypyc_attr"]
