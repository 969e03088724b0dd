"""The portfolio and the autopilot candidates are filtered and paged on the server (issue 20, item 4)."""

from __future__ import annotations

from workbench.dashboard.autopilot_page import AutopilotPage, ordered_candidates
from workbench.dashboard.data import portfolio_frame, portfolio_rows
from workbench.dashboard.paging import PortfolioQuery, facets, page_of
from workbench.dashboard.portfolio import PortfolioView
from workbench.dashboard.session import AppState


def test_the_portfolio_is_built_once_per_snapshot_and_paged_without_gaps(shared_service):
    snap = shared_service.snapshot
    frame = shared_service.portfolio(snap)
    assert shared_service.portfolio(snap) is frame                   # shared by every session of the snapshot
    expected = portfolio_frame(portfolio_rows(snap.outcomes, snap.registry, snap.bandits))
    assert frame["experiment_id"].tolist() == expected["experiment_id"].tolist()
    pages = [shared_service.portfolio_page(PortfolioQuery(page=i, size=5), snap) for i in range(3)]
    assert [len(p.frame) for p in pages] == [5, 5, len(frame) - 10] and {p.pages for p in pages} == {3}
    shown = [e for p in pages for e in p.frame["experiment_id"]]
    assert shown == frame["experiment_id"].tolist()                  # every row once, in the portfolio's order
    assert pages[1].label == f"rows 6–10 of {len(frame)} · page 2 of 3"
    last = shared_service.portfolio_page(PortfolioQuery(page=99, size=5), snap)
    assert last.page == 2 and last.frame.equals(pages[2].frame)      # a page past the end shows the last one


def test_filters_apply_before_paging(shared_service):
    snap = shared_service.snapshot
    frame = shared_service.portfolio(snap)
    owners = {r.owner for r in snap.registry.records.values()}
    assert set(facets(frame)["owner"]) == owners and len(owners) > 1
    owner = sorted(owners)[0]
    mine = sorted(e for e, r in snap.registry.records.items() if r.owner == owner)
    page = shared_service.portfolio_page(PortfolioQuery(owners=(owner,), size=2), snap)
    assert page.total == len(mine) and page.pages == -(-len(mine) // 2) and len(page.frame) == min(2, len(mine))
    decision = frame["decision"].iloc[0]
    both = shared_service.portfolio_page(PortfolioQuery(decisions=(decision,), categories=("beauty",), size=50), snap)
    assert set(both.frame["experiment_id"]) == set(
        frame[(frame["decision"] == decision) & (frame["category"] == "beauty")]["experiment_id"])
    none = shared_service.portfolio_page(PortfolioQuery(states=("archived",)), snap)
    assert none.total == 0 and none.frame.empty and none.label == "no rows match"


def test_the_portfolio_view_turns_pages_and_a_filter_starts_again_at_the_first(shared_service):
    view = PortfolioView(shared_service, AppState())
    view.size.options = [4, 50]
    view.size.value = 4
    view.update(shared_service.snapshot)
    frame = shared_service.portfolio()
    assert len(view.table.value) == 4 and view.prev.disabled and not view.next.disabled
    view.next.clicks += 1
    assert view._shown["experiment_id"].tolist() == frame["experiment_id"].tolist()[4:8]
    assert "page 2 of 4" in view.page_label.object and not view.prev.disabled
    view.decisions.value = [frame["decision"].iloc[0]]
    assert "page 1 of" in view.page_label.object
    assert set(view._shown["decision"]) == {frame["decision"].iloc[0]}


def test_the_autopilot_candidates_page(shared_service):
    plan = shared_service.snapshot.autopilot
    ordered = ordered_candidates(plan)
    assert len(ordered) > 6
    page = AutopilotPage(shared_service, AppState())
    page.page_size = 3
    page.update(shared_service.snapshot)
    assert ordered[0].product_id in page.candidates.object and ordered[3].product_id not in page.candidates.object
    page.next.clicks += 1
    assert ordered[3].product_id in page.candidates.object and ordered[0].product_id not in page.candidates.object
    expected = page_of(portfolio_frame([]).iloc[:0], 0, 3)             # an empty list still has one (empty) page
    assert expected.pages == 1 and expected.label == "no rows match"
    assert f"page 2 of {-(-len(ordered) // 3)}" in page.page_label.object
