"""The kernel manager of the hosted dashboard: Voilà's, with a cap on concurrent kernels.

Each visitor of the Voilà dashboard gets a kernel (about 0.28 GB resident, see
docs/interactive.md). ``CappedKernelManager`` refuses a new one beyond ``max_kernels`` with HTTP
503 and a plain "busy, try again" message; idle culling is configured on the command line
(:func:`na64tools.interactive.dashboard.voila_command`). Needs jupyter_server (installed with
Voilà, the ``dashboard`` extra).
"""

from __future__ import annotations

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

__all__ = ["CappedKernelManager", "BUSY_MESSAGE"]

BUSY_MESSAGE = ("The NA64mu dashboard is busy: too many visitors at the moment. "
                "Please try again in a minute.")


class CappedKernelManager(AsyncMappingKernelManager):
    """Voilà's kernel manager with a cap on concurrent kernels (visitors)."""

    max_kernels = Integer(8, config=True, help="most kernels at once; the next page gets HTTP 503")

    async def start_kernel(self, *args, **kwargs):
        if len(self.list_kernel_ids()) >= self.max_kernels:
            raise web.HTTPError(503, BUSY_MESSAGE, reason="Busy")
        return await super().start_kernel(*args, **kwargs)
