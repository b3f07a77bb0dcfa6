"""Voilà as the hosted dashboard runs it: Voilà's own application with a pre-launch hook that
sets the ``_xsrf`` cookie on the page.

Voilà's page shuts its kernel down when it is closed, with a POST to
``voila/api/shutdown/<kernel id>`` that carries the value of the ``_xsrf`` cookie (Voilà 0.5).
Voilà itself never sets that cookie, so with the XSRF check on, the request was refused (403) and
each visit left its kernel behind. :func:`set_xsrf_cookie` runs before the visitor's kernel is
started and asks tornado for the request's XSRF token, which sets the cookie on the page's
response; the page's shutdown request then passes the check, and the check stays on (a page of
another site cannot send the token, so it cannot shut kernels down).

Run as ``python -m na64tools.interactive._voila_app NOTEBOOK [Voilà options]``
(:func:`na64tools.interactive.dashboard.voila_command`). Needs Voilà (the ``dashboard`` extra).
"""

from __future__ import annotations

from traitlets.config import Config

__all__ = ["set_xsrf_cookie", "main"]


def set_xsrf_cookie(req, notebook=None, cwd=None):
    """Voilà's ``prelaunch_hook``: make tornado set the ``_xsrf`` cookie on this response (the
    token is created and the cookie set when the request has none). Returns None: the notebook
    is left as it is."""
    req.xsrf_token  # noqa: B018 - the property sets the cookie
    return None


def main(argv=None) -> None:
    """Voilà's command line, with :func:`set_xsrf_cookie` as the pre-launch hook."""
    from voila.app import Voila

    config = Config()
    config.VoilaConfiguration.prelaunch_hook = set_xsrf_cookie
    Voila.launch_instance(argv, config=config)


if __name__ == "__main__":
    main()
