"""Run once per server by ``panel serve --setup``: schedule the data refresh (one per server, not per session)."""

from workbench.dashboard.service import start_refresh

start_refresh()
