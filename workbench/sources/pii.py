"""Raw personal identifiers (e-mail addresses, phone numbers) in ANY text column of an event log.

The event log must carry no raw identifier: ``user_key`` is a salted hash, and no other text
column (``session_id``, ``user_agent``, ``product_id``...) may hold an e-mail address or a phone
number either. The check is one pushed-down query (DuckDB regular expressions through Ibis), run
on a normalised form of every text value so that disguises do not slip through:

- full-width and compatibility characters are folded to ASCII as NFKC does (``＠`` → ``@``,
  ``ｊａｎｅ`` → ``jane``, ``﹫`` → ``@``), the ideographic full stop ``。`` reads as ``.``, and
  invisible characters (zero-width spaces, soft hyphens) are dropped;
- URL encoding of the separators is undone (``%40`` → ``@``, ``%2E`` → ``.``, ``%2B`` → ``+``,
  ``%20`` → space, also double-encoded ``%2540``), and ``&#64;`` reads as ``@``;
- spelled-out forms read as symbols: ``jane [at] example [dot] com``, ``jane (at) example.com``,
  ``jane at example dot com``, and spaces around ``@`` are ignored (``jane @ example.com``).

Phone numbers are recognised by shape, so that version numbers, hashes, ISO timestamps, prices
and product ids are not mistaken for them: an international number (``+`` and 7 to 17 digits,
with spaces, dashes, dots or brackets between them), a North-American number
(``(555) 123-4567``, ``555-123-4567``), a national number with a trunk 0 and separators
(``010-1234-5678``, ``020 7946 0958``) or a ``tel:`` link. In ``user_key`` alone, where any value
that is not a hash is suspect, a bare run of 7 to 15 digits is also taken as a phone number.

The functions here build Ibis boolean expressions; :mod:`.events` counts them in its one
validation query and, only on the error path, :func:`find_identifier` finds the identifier in the
few example values so that the message shows it masked (:func:`mask_identifier`), never in clear.

>>> find_identifier("Mozilla/5.0 (contact: jane%40example.com)")
('email', 'jane@example.com')
>>> find_identifier("ｋｉｍ＠ｍａｉｌ．ｃｏ．ｋｒ"), find_identifier("kim at mail dot co dot kr")
(('email', 'kim@mail.co.kr'), ('email', 'kim@mail.co.kr'))
>>> find_identifier("sess-+82 10-1234-5678"), find_identifier("Chrome/120.0.6099.109 Safari/537.36")
(('phone', '+82 10-1234-5678'), None)
>>> mask_identifier("jane.doe@example.com"), mask_identifier("+82 10-1234-5678")
('j***@e***.com', '+8***78')
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

import ibis
import ibis.expr.types as ir

__all__ = ["identifier_rules", "count_identifiers", "find_identifier", "mask_identifier", "text_columns", "EMAIL", "PHONES"]

# Folding done in SQL with translate(): what NFKC does to the full-width ASCII block (U+FF01..U+FF5E)
# and the small commercial at / full stop, plus the ideographic space and full stop; the invisible
# characters have no counterpart, so translate() deletes them.
_FOLD_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\uFE6B\uFE52\u3000\u3002"
_FOLD_TO = "".join(chr(c) for c in range(0x21, 0x7F)) + "@. ."
_INVISIBLE = "\u200B\u200C\u200D\u2060\uFEFF\u00AD"

# (pattern, replacement) applied in order, in SQL (RE2) and in Python alike, after lower-casing.
_DECODE = (
    (r"%25", "%"),                                  # double URL encoding: %2540 → %40
    (r"%40|&#0*64;|&commat;", "@"),
    (r"%2e", "."),
    (r"%2b", "+"),
    (r"%20", " "),
)
_SPELLED = (
    (r"\s*[\[({<]\s*at\s*[\])}>]\s*", "@"),         # jane [at] example
    (r"\s*[\[({<]\s*dot\s*[\])}>]\s*", "."),        # example [dot] com
    (r"\s+at\s+([a-z0-9\-]+)\s+dot\s+", "@\\1."),   # jane at example dot com (both words needed)
    (r"(@[a-z0-9.\-]+)\s+dot\s+([a-z])", "\\1.\\2"),  # ... dot co dot kr
    (r"(@[a-z0-9.\-]+)\s+dot\s+([a-z])", "\\1.\\2"),
    (r"\s*@\s*", "@"),                              # jane @ example.com
)
# One cheap test (a single regular expression on the raw value) that every value holding an
# identifier passes: something that may become an "@" or the word "at", a plus sign (ASCII,
# full-width or URL-encoded), a "tel:" link, three groups of digits with separators between them, or
# a value of digits and separators only. Only the values that pass go through the rewriting and the
# exact patterns below; hashes, user agents and product ids almost never do.
_D = r"[0-9\x{FF10}-\x{FF19}]"
_S = r"(%2[0eE]|[ ()\-.\x{FF08}\x{FF09}\x{FF0D}\x{FF0E}\x{3000}\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{AD}])"
GATE = (r"[@\x{FF20}\x{FE6B}]|%(25)?40|&#0*64;|&commat;"
        r"|(^|[^a-zA-Z\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}])[aA\x{FF41}\x{FF21}][tT\x{FF54}\x{FF34}]"
        r"([^a-zA-Z\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}]|$)"
        r"|[+\x{FF0B}]|%(25)?2[bB]|[tT][eE][lL]:"
        rf"|{_D}{{1,4}}{_S}{{1,3}}{_D}{{3,4}}{_S}{{1,3}}{_D}{{4}}"
        rf"|^({_D}|{_S})+$")
EMAIL = r"[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}"
_NB = r"(^|[^0-9a-z])"     # not preceded by a digit or letter
_NA = r"([^0-9]|$)"        # not followed by a digit
PHONES = (
    _NB + r"\+[0-9]{1,3}([ ()\-.]{0,2}[0-9]){6,14}" + _NA,                                  # +82 10-1234-5678
    r"(^|[^0-9])(\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .\-])[0-9]{3}[ .\-][0-9]{4}" + _NA,    # (555) 123-4567
    r"(^|[^0-9])0[0-9]{1,3}[ .\-][0-9]{3,4}[ .\-][0-9]{4}" + _NA,                          # 010-1234-5678
    r"tel:\+?[0-9]",
)
_PHONE = "|".join(f"({p})" for p in PHONES)
BARE_PHONE = r"^\+?[0-9]{7,15}$"      # user_key only: E.164 is at most 15 digits, after removing separators
_SEPARATORS = r"[ ()\-.]"


def text_columns(t: ir.Table) -> list[str]:
    """Every column of ``t`` that holds text (plus ``user_key`` whatever its type)."""
    schema = t.schema()
    return [c for c in t.columns if c != "file_row_number" and (schema[c].is_string() or c == "user_key")]


def _folded(v: ir.Value) -> ir.StringValue:
    s = v.cast("string").translate(_FOLD_FROM + _INVISIBLE, _FOLD_TO).lower()
    for pattern, repl in _DECODE:
        s = s.re_replace(pattern, repl)
    return s


def _email_rule(column: str) -> Callable[[ir.Table], ir.BooleanValue]:
    def rule(t: ir.Table) -> ir.BooleanValue:
        raw = t[column].cast("string")
        s = _folded(raw)
        for pattern, repl in _SPELLED:
            s = s.re_replace(pattern, repl)
        return raw.re_search(GATE).ifelse(s.re_search(EMAIL), False).fill_null(False)
    return rule


def _phone_rule(column: str, *, bare: bool | ir.BooleanValue) -> Callable[[ir.Table], ir.BooleanValue]:
    def rule(t: ir.Table) -> ir.BooleanValue:
        s = _folded(t[column])
        hit = s.re_search(_PHONE)
        if bare is True:
            hit = hit | s.re_replace(_SEPARATORS, "").re_search(BARE_PHONE)
        elif bare is not False:         # an expression: the bare-number test applies where it holds
            hit = hit | (bare & s.re_replace(_SEPARATORS, "").re_search(BARE_PHONE))
        return t[column].cast("string").re_search(GATE).ifelse(hit, False).fill_null(False)
    return rule


Rule = tuple[Callable[[ir.Table], ir.BooleanValue], str, str]


def identifier_rules(t: ir.Table) -> dict[str, Rule]:
    """Validation rules ``{name: (predicate, column, message template)}`` for every text column.

    Names are ``raw_email`` / ``raw_phone`` for ``user_key`` and ``raw_email:<column>`` /
    ``raw_phone:<column>`` for the others (the part before ``:`` is the problem code). Templates
    take ``{masked}``.
    """
    rules: dict[str, Rule] = {}
    for col in text_columns(t):
        suffix = "" if col == "user_key" else f":{col}"
        if col == "user_key":
            email = ("user_key looks like a raw e-mail address ({masked}); send a salted hash — raw identifiers "
                     "are refused")
            phone = ("user_key looks like a raw phone number ({masked}); send a salted hash — raw identifiers "
                     "are refused")
        else:
            email = (f"{col} contains a raw e-mail address ({{masked}}); remove or hash it before loading — raw "
                     "identifiers are refused")
            phone = (f"{col} contains a raw phone number ({{masked}}); remove or hash it before loading — raw "
                     "identifiers are refused")
        rules["raw_email" + suffix] = (_email_rule(col), col, email)
        rules["raw_phone" + suffix] = (_phone_rule(col, bare=col == "user_key"), col, phone)
    return rules


def _values(t: ir.Table, columns: list[str], *, grouping_sets: bool | None = None) -> ir.Table:
    """``(col, v, n)``: each distinct value ``v`` of each text column ``col`` with its row count.

    The rules then run once per distinct value, not once per row (a user agent repeats over a
    million rows). On DuckDB this is one scan of the input (GROUPING SETS); elsewhere the columns are
    stacked (a union of one-column projections) and grouped once, so a distributed engine shuffles once.
    """
    con = t.get_backend()
    if grouping_sets is None:
        grouping_sets = getattr(con, "name", "") == "duckdb"
    if grouping_sets:
        alias = {c: f"c{i}" for i, c in enumerate(columns)}
        quoted = {c: '"' + c.replace('"', '""') + '"' for c in columns}
        names = " ".join(f"WHEN GROUPING({alias[c]}) = 0 THEN '{c.replace(chr(39), chr(39) * 2)}'" for c in columns)
        sql = (f"SELECT CASE {names} END AS col, COALESCE({', '.join(alias.values())}) AS v, count(*) AS n "
               f"FROM (SELECT {', '.join(f'CAST({quoted[c]} AS VARCHAR) AS {alias[c]}' for c in columns)} "
               f"FROM ({ibis.to_sql(t, dialect='duckdb')})) "
               f"GROUP BY GROUPING SETS ({', '.join(f'({a})' for a in alias.values())})")
        return con.sql(sql)
    stacked = ibis.union(*[t.select(col=ibis.literal(c), v=t[c].cast("string")) for c in columns])
    return stacked.group_by(["col", "v"]).aggregate(n=ibis._.count())


def count_identifiers(t: ir.Table) -> dict[str, int]:
    """Rows breaking each rule of :func:`identifier_rules` (same names), in one pushed-down query."""
    columns = text_columns(t)
    if not columns:
        return {}
    g = _values(t, columns)
    g = g.filter(g.v.re_search(GATE))
    email = _email_rule("v")(g)
    phone = _phone_rule("v", bare=g.col == "user_key")(g)
    df = g.group_by("col").aggregate(email=email.ifelse(g.n, 0).sum(), phone=phone.ifelse(g.n, 0).sum()).execute()
    out: dict[str, int] = {}
    for rec in df.itertuples(index=False):
        suffix = "" if rec.col == "user_key" else f":{rec.col}"
        out["raw_email" + suffix] = int(rec.email or 0)
        out["raw_phone" + suffix] = int(rec.phone or 0)
    return out


# --- the error path: find and mask the identifier in a few example values -------------------------
def _normalise(value: str) -> str:
    s = unicodedata.normalize("NFKC", value).translate({ord(c): None for c in _INVISIBLE})
    s = s.translate(str.maketrans(_FOLD_FROM, _FOLD_TO)).lower()
    for pattern, repl in _DECODE:
        s = re.sub(pattern, repl, s)
    return s


def find_identifier(value: object, *, bare_phone: bool = False) -> tuple[str, str] | None:
    """``("email" | "phone", the identifier as normalised)`` found in ``value``, or None."""
    if value is None:
        return None
    s = _normalise(str(value))
    e = s
    for pattern, repl in _SPELLED:
        e = re.sub(pattern, repl, e)
    m = re.search(EMAIL, e)
    if m:
        return "email", m.group(0)
    for p in PHONES:
        m = re.search(p, s)
        if m:
            return "phone", _digits_phone(s[m.start():] if p.startswith("tel") else m.group(0))
    if bare_phone and re.search(BARE_PHONE, re.sub(_SEPARATORS, "", s)):
        return "phone", s
    return None


def _digits_phone(text: str) -> str:
    m = re.search(r"\+?[0-9][0-9 ()\-.]*[0-9]", text)
    return m.group(0) if m else text


def mask_identifier(value: str) -> str:
    """Hide most of a raw identifier so an error message does not repeat it.

    >>> mask_identifier("someone@example.org"), mask_identifier("tel:+821012345678")
    ('s***@e***.org', '+8***78')
    """
    if "@" in value:
        local, _, domain = value.partition("@")
        tld = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}***@{domain[:1]}***.{tld}"
    value = _digits_phone(value)
    return f"{value[:2]}***{value[-2:]}"


def masked(value: object, *, bare_phone: bool = False) -> str:
    """The identifier found in ``value``, masked (the whole value masked if none is found)."""
    found = find_identifier(value, bare_phone=bare_phone)
    return mask_identifier(found[1] if found else str(value))
