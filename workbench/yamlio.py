"""YAML input for every file the workbench reads (settings, briefs, calendars, policies, metric definitions,
credentials): PyYAML's safe loader, except that a value that looks like a date but is not one
(``2026-11-40``) is a :class:`yaml.YAMLError` naming its line, like any other syntax error, instead of a
``ValueError`` from :mod:`datetime` that no reader expects.

>>> load_yaml("start: 2026-11-27")
{'start': datetime.date(2026, 11, 27)}
>>> try:
...     load_yaml("events:\\n  - start: 2026-11-40")
... except yaml.YAMLError as exc:
...     print(exc.problem_mark.line + 1, exc.problem)
2 '2026-11-40' is not a date: day is out of range for month
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["Loader", "load_yaml"]


class Loader(yaml.SafeLoader):
    """The safe loader; an impossible date is a :class:`yaml.constructor.ConstructorError` at its node."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a date: {exc}",
                                                    node.start_mark) from None


Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` with impossible dates reported as YAML errors (see the module doc)."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
