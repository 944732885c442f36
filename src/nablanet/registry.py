"""Names for the building blocks: one get/names for activations, costs, initialisers, optimizers.

The core takes objects; names are for the edges (the CLI, the estimators, model
files), and each kind of block keeps a ``Registry`` of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Registry"]


class Registry:
    """``kind`` blocks by name (with aliases); ``get`` builds one, or passes an object through.

    ``base`` is the type (or the test, for plain functions) an object must pass to be
    used as it is; ``make(entry, **options)`` turns a registered entry into an object.
    """

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, Any],
        aliases: Mapping[str, str] | None = None,
        base: type | Callable[[Any], bool] = object,
        make: Callable[..., Any] = lambda entry, **options: entry(**options),
    ):
        self.kind, self.entries, self.aliases = kind, dict(entries), dict(aliases or {})
        self._is_object = base if not isinstance(base, type) else (lambda spec: isinstance(spec, base))
        self._make = make

    def names(self) -> list[str]:
        """The names ``get`` accepts (aliases aside)."""
        return sorted(self.entries)

    def get(self, spec: Any, **options: Any) -> Any:
        """The block named ``spec`` (case-insensitive, aliases allowed), or ``spec`` itself."""
        if self._is_object(spec):
            return spec
        if not isinstance(spec, str):
            raise TypeError(f"{self.kind} must be a name or a {self.kind} object, got {type(spec).__name__}")
        key = self.aliases.get(spec.lower(), spec.lower())
        if key not in self.entries:
            raise ValueError(f"unknown {self.kind} {spec!r}; choose one of {', '.join(self.names())}")
        return self._make(self.entries[key], **options)
