"""Bokeh auth module for ``panel serve --auth-module <this file>`` (password login).

Bokeh reads these names: ``get_user`` (the signed-cookie user of a request, or ``None`` to send the
browser to ``login_url``), ``LoginHandler``/``login_url`` and ``LogoutHandler``/``logout_url``.
``workbench serve --auth FILE`` passes this file; the credentials file is named by the
``WORKBENCH_AUTH`` environment variable (see :mod:`workbench.dashboard.auth`).
"""

from workbench.dashboard.login import LOGIN_URL, LOGOUT_URL, LoginHandler, LogoutHandler, current_user

__all__ = ["get_user", "login_url", "logout_url", "LoginHandler", "LogoutHandler"]

login_url = LOGIN_URL
logout_url = LOGOUT_URL


def get_user(request_handler):  # noqa: ANN001, ANN201 - Bokeh's hook signature
    """The authenticated user name of this request, or ``None``."""
    return current_user(request_handler)
