"""The Experiment Workbench dashboard — the ``panel serve`` entry.

Run it with ``workbench serve`` (which passes the login, setup and endpoint options), or by hand::

    panel serve dashboards/app.py --setup dashboards/setup.py --plugins workbench.dashboard.api

Every view lives in :mod:`workbench.dashboard`; this file only makes one app per browser session.
"""

from workbench.dashboard.app import create_app

create_app().servable(title="Experiment Workbench")
