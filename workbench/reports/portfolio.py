"""The portfolio page ``reports/index.html``: every experiment with its state, health, decision and links.

Rows come from each report's ``summary.json`` (what the report itself says), the registry's
current state (read-only), and the last run's status file (``reports/.last-run.json``) for
experiments whose latest build failed — their previous report, if any, stays linked. Every
string is HTML-escaped; the page is self-contained (inline CSS, no scripts).

:func:`refresh_portfolio` is what a run calls: it rewrites the page only when something it shows
may have changed — a report, the last run's statuses, the registry's experiment rows (its key,
:func:`index_key`, is stored in the page) — so an unchanged re-run reads a few small files instead
of importing the report stack.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..display import dumps, escape, fmt_ci, fmt_lift, fmt_p, fmt_action
from ..files import write_text_atomic
from .keys import report_dirname

__all__ = ["write_index", "write_status", "portfolio_rows", "refresh_portfolio", "index_key", "STATUS_FILE"]

STATUS_FILE = ".last-run.json"
_KEY_META = re.compile(r"<meta name='workbench-index-key' content='([0-9a-f]+)'>")


def refresh_portfolio(out: Path, run: Any, *, db: str | None = None) -> Path:
    """After a run: the status file, then ``index.html`` — each rewritten only when its content may change."""
    out = Path(out)
    if not _status_current(out, run):
        write_status(out, run)
    key = index_key(out, db=db)
    page = out / "index.html"
    try:
        found = _KEY_META.search(page.read_text(encoding="utf-8")[:2000])
    except OSError:
        found = None
    if found is not None and found.group(1) == key:
        return page
    return write_index(out, db=db, key=key)


def _status_current(out: Path, run: Any) -> bool:
    """True when the run only skipped experiments the status file already lists (writing it would change nothing)."""
    if any(o.status != "skipped" for o in run.outcomes):
        return False
    try:
        known = json.loads((out / STATUS_FILE).read_text(encoding="utf-8")).get("experiments", {})
    except (OSError, ValueError):
        return False
    return all(o.experiment_id in known for o in run.outcomes)


def index_key(out: Path, *, db: str | None = None) -> str:
    """A digest of everything ``index.html`` shows: each ``summary.json`` (by size and modification time),
    the last run's statuses and the registry's experiment rows (read with DuckDB alone)."""
    h = hashlib.sha256()
    for p in sorted(Path(out).glob("*/summary.json")):
        st = p.stat()
        h.update(f"{p.parent.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    try:
        status = json.loads((Path(out) / STATUS_FILE).read_text(encoding="utf-8")).get("experiments", {})
    except (OSError, ValueError):
        status = {}
    h.update(json.dumps(status, sort_keys=True, default=str).encode())
    h.update(_registry_digest(db).encode())
    return h.hexdigest()[:32]


def _registry_digest(db: str | None) -> str:
    """A content hash of the registry's experiment rows ("" without a registry, "busy" when it cannot be read)."""
    if not db or "://" in str(db) or not Path(db).exists():
        return ""
    from ..errors import WorkbenchError
    from .keys import read_only_duckdb
    try:
        with read_only_duckdb(db) as con:
            has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'experiments' "
                              "AND table_catalog = current_database() AND table_schema = current_schema()").fetchone()
            if not has or not has[0]:
                return ""
            n, digest = con.execute("SELECT count(*), CAST(sum(hash(experiment_id, name, state, kind, owner, category)) "
                                    "AS VARCHAR) FROM experiments").fetchone()
    except WorkbenchError:
        return f"busy {dt.datetime.now(dt.UTC).isoformat()}"    # never equal: the page is rewritten next time
    return f"{n}|{digest}"


def write_status(out: Path, run: Any) -> Path:
    """Remember each experiment's last build status (failures keep their cell and error)."""
    path = out / STATUS_FILE
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8")).get("experiments", {})
        except (OSError, ValueError):
            previous = {}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for o in run.outcomes:
        if o.status == "skipped" and o.experiment_id in previous:
            continue
        previous[o.experiment_id] = {"status": o.status, "at": now.isoformat(timespec="seconds"), "error": o.error,
                                     "cell": o.cell, "section": o.section, "failed_notebook": o.failed_notebook,
                                     "describe": o.describe()}
    return write_text_atomic(path, dumps({"updated_at": now, "experiments": previous}, indent=2) + "\n")


def _registry_states(db: str | None) -> dict[str, dict[str, Any]]:
    """experiment_id → registry row (read-only; empty when there is no registry or it is busy)."""
    from ..db import connect
    from ..errors import WorkbenchError
    from ..pipeline import has_registry

    if not db or "://" in str(db) or not Path(db).exists():
        return {}
    try:
        if not has_registry(db):
            return {}
        with connect(db, read_only=True) as con:
            df = con.table("experiments").select("experiment_id", "name", "state", "kind", "owner",
                                                 "category").execute()
    except WorkbenchError:
        return {}
    return {str(r["experiment_id"]): r for r in df.to_dict("records")}


def portfolio_rows(out: Path, *, db: str | None = None) -> list[dict[str, Any]]:
    """One row per experiment known to the reports directory, the last run or the registry."""
    status: dict[str, Any] = {}
    sp = out / STATUS_FILE
    if sp.exists():
        try:
            status = json.loads(sp.read_text(encoding="utf-8")).get("experiments", {})
        except (OSError, ValueError):
            status = {}
    summaries: dict[str, dict[str, Any]] = {}
    for p in sorted(out.glob("*/summary.json")):
        if p.parent.name.startswith("."):
            continue
        try:
            s = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if "experiment_id" in s:
            summaries[str(s["experiment_id"])] = {**s, "_dir": p.parent.name}
    registry = _registry_states(db)
    ids = sorted(set(summaries) | set(status) | set(registry))
    rows = []
    for e in ids:
        s = summaries.get(e, {})
        reg = registry.get(e, {})
        rows.append({"experiment_id": e, "name": s.get("name") or reg.get("name") or e,
                     "kind": s.get("kind") or reg.get("kind") or "", "state": reg.get("state") or s.get("state") or "",
                     "summary": s, "status": status.get(e, {}), "dir": s.get("_dir") or report_dirname(e)})
    return rows


def _primary_cell(s: dict[str, Any]) -> str:
    p = s.get("primary") or {}
    comps = p.get("comparisons") or []
    if not comps:
        return "—" if not p.get("metric") else f"{escape(p['metric'])}: not analysed"
    # The variant the decision engine calls best (as the report header and the dashboard show it).
    named = ((s.get("decision") or {}).get("facts") or {}).get("best_variant")
    best = next((c for c in comps if c.get("variant") == named), comps[0])
    lift = best.get("lift_rel")
    ci = best.get("lift_rel_ci") or [None, None]
    return (f"{escape(p.get('metric'))} · {escape(best.get('variant'))}: "
            f"{escape(fmt_lift(lift))} "
            f"<span class='sub'>{escape(fmt_ci(ci[0], ci[1], pct=True))}, p {escape(fmt_p(best.get('p_value_adjusted')))}</span>")


def write_index(out: str | Path, *, db: str | None = None, title: str = "Experiment portfolio",
                key: str | None = None) -> Path:
    """Write ``index.html`` (atomically) and return its path (``key``: :func:`index_key`, stored in the page)."""
    from .html import ACTION_CLASS, HEALTH_CLASS, REPORT_CSS

    out = Path(out)
    key = index_key(out, db=db) if key is None else key
    rows = portfolio_rows(out, db=db)
    body = []
    counts: dict[str, int] = {}
    for r in rows:
        s, st = r["summary"], r["status"]
        d = s.get("decision") or {}
        h = (s.get("health") or {}).get("status", "")
        action = d.get("action", "")
        counts[action or "no report"] = counts.get(action or "no report", 0) + 1
        links = []
        base = escape(r["dir"])
        for f, label in (("report.html", "report"), ("report.pdf", "PDF"), ("memo.html", "memo"), ("memo.md", "memo.md"),
                         ("summary.json", "JSON")):
            if f in (s.get("files") or []):
                links.append(f"<a href='{base}/{escape(f)}'>{escape(label)}</a>")
        failure = ""
        if st.get("status") == "failed":
            failure = (f"<div class='fail'>last run failed: {escape(st.get('describe') or st.get('error'))}"
                       + (" — showing the previous report" if s else " — no report yet") + "</div>")
        generated = str(s.get("generated_at") or "")[:16].replace("T", " ")
        health = f"<span class='wb-badge {HEALTH_CLASS.get(h, '')}'>{escape(h)}</span>" if h else "—"
        decided = f"<span class='wb-badge {ACTION_CLASS.get(action, '')}'>{escape(fmt_action(action))}</span>" if action else "—"
        body.append(
            "<tr>"
            f"<td><div class='name'>{escape(r['name'])}</div><div class='sub'>{escape(r['experiment_id'])}</div>{failure}</td>"
            f"<td>{escape(r['kind'])}</td><td>{escape(r['state'] or '—')}</td>"
            f"<td>{health}</td><td>{decided}"
            f"<div class='sub'>{escape(d.get('reason', ''))}</div></td>"
            f"<td>{_primary_cell(s) if s else '—'}</td><td class='sub'>{escape(generated) or '—'}</td>"
            f"<td>{' · '.join(links) or '—'}</td></tr>")
    now = dt.datetime.now(dt.UTC)
    tally = " · ".join(f"{escape(k)}: {v}" for k, v in sorted(counts.items()))
    html = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='workbench-index-key' content='{key}'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{REPORT_CSS}{_CSS}</style></head><body><main>"
            f"<h1>{escape(title)}</h1><p class='sub'>{len(rows)} experiments · {tally} · updated "
            f"{now:%Y-%m-%d %H:%M} UTC by <code>workbench report</code></p>"
            "<table class='wb-table portfolio'><thead><tr><th>experiment</th><th>kind</th><th>state</th><th>health</th>"
            "<th>decision</th><th>primary metric</th><th>report generated (UTC)</th><th>files</th></tr></thead><tbody>"
            + "".join(body) + "</tbody></table></main></body></html>\n")
    return write_text_atomic(out / "index.html", html)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans KR',sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1280px;margin:20px auto;background:#fff;padding:20px 28px;border:1px solid #d0d7de;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 6px}.sub{color:#656d76;font-size:.8rem}.name{font-weight:600}
table.wb-table.portfolio td,table.wb-table.portfolio th{text-align:left}.fail{color:#cf222e;font-size:.8rem;margin-top:3px}a{color:#0969da}
"""
