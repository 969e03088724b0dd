"""Keep a slow optional import out of report runs.

``jsonschema`` (imported by nbformat, papermill and nbconvert) imports the optional package
``rfc3987_syntax`` when it is installed, only to offer an ``iri`` format check; that package
compiles its Lark grammars at import, which takes 1.5–6 s of CPU — more than the rest of a report
run's imports together. No notebook schema uses the ``iri`` format, so a process that runs reports
marks the package as absent before ``jsonschema`` is first imported (``jsonschema`` then leaves
the ``iri`` check out, as it does when the package is not installed). A process that imported
``jsonschema`` already is left as it is.
"""

from __future__ import annotations

import sys

__all__ = ["skip_slow_optional_imports"]

SLOW_OPTIONAL = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Mark :data:`SLOW_OPTIONAL` packages as absent, unless ``jsonschema`` (or they) are already imported."""
    if "jsonschema" in sys.modules:
        return
    for name in SLOW_OPTIONAL:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: `import name` raises ImportError
