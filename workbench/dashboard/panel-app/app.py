"""The Experiment Workbench dashboard — the ``panel serve`` entry.

It ships inside the package (``workbench/dashboard/panel-app/``, package data, not a module). Run it
with ``workbench serve`` (which passes the login, setup and endpoint options), or by hand from a checkout::

    panel serve workbench/dashboard/panel-app/app.py --setup workbench/dashboard/panel-app/setup.py \
        --plugins workbench.dashboard.api

Every view lives in :mod:`workbench.dashboard`; this file only makes one app per browser session.
"""

from workbench.dashboard.app import create_app

create_app().servable(title="Experiment Workbench")
