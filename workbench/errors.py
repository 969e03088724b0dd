"""Errors and problems the user can act on.

A :class:`Problem` is one thing wrong with the user's input or experiment, located as precisely as we
can (file, column, row, value). A :class:`WorkbenchError` is raised for mistakes the user can fix;
the CLI prints its message on one line (or one line per problem) and exits with status 2, never with
a traceback. Programming errors stay ordinary exceptions.

>>> p = Problem("blocked", "negative", "users must be >= 0", file="ab.csv", column="users", row=2, value=-5)
>>> str(p)
'ab.csv: row 2, column users, value -5: users must be >= 0'
>>> str(Problem("info", "bots_excluded", "bots", value=0.019325980392156862))
'value 0.019326: bots'
>>> err = InputError([p])
>>> err.exit_code, str(err)
(2, 'ab.csv: row 2, column users, value -5: users must be >= 0')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Sequence

Level = Literal["blocked", "warning", "info"]

__all__ = ["Level", "Problem", "WorkbenchError", "InputError", "NotFoundError", "ConflictError", "is_missing"]


def _shown(value: Any) -> str:
    """A located value for people: floats through the display layer (``0.019326``, not 17 digits)."""
    if isinstance(value, float):
        from .display import fmt_num
        return fmt_num(value, 6)
    return str(value)


@dataclass(frozen=True)
class Problem:
    """One located problem: what is wrong (``message``) and where (file, column, row, value).

    ``row`` is the 1-based data row (the header is not counted); ``line`` is the physical line in a
    text file when it is known (``row + 1`` for a CSV with one header line). ``code`` is a stable
    machine-readable identifier such as ``"missing_column"`` or ``"srm"``.
    """

    level: Level
    code: str
    message: str
    file: str | None = None
    column: str | None = None
    row: int | None = None
    value: Any = None
    line: int | None = None

    def location(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" (line {self.line})" if self.line is not None else ""))
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if not is_missing(self.value):
            v = self.value
            if isinstance(v, str) and len(v) > 80:      # a 200 KB cell must not become a 200 KB message
                parts.append(f"value {v[:40]!r}… ({len(v):,} characters)")
            else:
                parts.append(f"value {v!r}" if isinstance(v, str) else f"value {_shown(v)}")
        where = ", ".join(parts)
        if self.file:
            return f"{self.file}: {where}" if where else self.file
        return where

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        v = d["value"]
        if v is not None and not isinstance(v, (str, int, float, bool)):
            d["value"] = str(v)
        return d


def is_missing(value: Any) -> bool:
    """A missing scalar: None, NaN, NaT or pandas' NA (an array is never missing). Problems show such a value as
    nothing rather than as 'value nan'; metadata read from a table turns it into None.

    >>> [is_missing(v) for v in (None, float("nan"), 0.0, "", [1, 2])]
    [True, True, False, False, False]
    """
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):          # an array's comparison, or pandas' NA (whose truth is ambiguous)
        return type(value).__name__ == "NAType"


class WorkbenchError(Exception):
    """A mistake the user can fix. The CLI shows ``str(error)`` and exits with ``exit_code``."""

    exit_code: int = 2


@dataclass
class InputError(WorkbenchError):
    """Input that cannot be used as given; carries every :class:`Problem` found, not only the first."""

    problems: Sequence[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems) or "invalid input"


class NotFoundError(WorkbenchError):
    """A named thing (experiment, file, report) does not exist."""


class ConflictError(WorkbenchError):
    """The request is well-formed but not allowed now (illegal state transition, lock held...)."""
