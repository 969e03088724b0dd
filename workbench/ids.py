"""Experiment ids (and other names used as file names): the one validator every command and the
registry use.

An id is 1-80 letters, digits, ``.``, ``_`` or ``-``, starts with a letter or digit and holds no
``..``, so it is safe as a file or directory name on its own (``reports/<id>/``) and in SQL
parameters; ``../../etc`` or ``a/b`` are refused with a message that says the rule.

>>> is_safe_id("pdp-shoes-hero"), is_safe_id("../../etc"), is_safe_id("a" * 81)
(True, False, False)
>>> try:
...     safe_id("../../etc")
... except InputError as e:
...     print(e)
value '../../etc': not a valid experiment id: use 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit, and no '..'
"""

from __future__ import annotations

import re

from .errors import InputError, Problem

__all__ = ["SAFE_ID_PATTERN", "ID_RULE", "is_safe_id", "safe_id", "id_from_name"]

SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
_SAFE_ID = re.compile(SAFE_ID_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
ID_RULE = "use 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit, and no '..'"


def is_safe_id(value: object) -> bool:
    """True when ``value`` can be used as a file or directory name on its own."""
    return isinstance(value, str) and bool(_SAFE_ID.fullmatch(value)) and ".." not in value


def safe_id(value: object, what: str = "experiment id", *, column: str | None = None) -> str:
    """Return ``value`` if it is a safe id, else raise :class:`InputError` saying why."""
    if not is_safe_id(value):
        shown = value if isinstance(value, (str, int, float)) else repr(value)
        if isinstance(shown, str) and len(shown) > 60:
            shown = shown[:40] + f"… ({len(shown):,} characters)"
        raise InputError([Problem("blocked", "unsafe_id", f"not a valid {what}: {ID_RULE}", column=column,
                                  value=shown)])
    return value  # type: ignore[return-value]


def id_from_name(name: str, default: str = "experiment") -> str:
    """A safe id made from a file name's stem (``"my results (v2)"`` → ``"my-results-v2"``).

    >>> id_from_name("my results (v2)"), id_from_name("..."), id_from_name("")
    ('my-results-v2', 'experiment', 'experiment')
    """
    text = _UNSAFE.sub("-", name).strip("-.")[:80].strip("-.")
    while ".." in text:
        text = text.replace("..", ".")
    return text if is_safe_id(text) else default
