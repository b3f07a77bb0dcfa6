"""Dask clients for every computing facility, in the style of the Analysis Grand Challenge.

One function, :func:`make_client`, returns a ``distributed.Client`` for:

==============  ==============================================================================
``local``       a :class:`distributed.LocalCluster` on this machine (default; ``n_workers``
                processes with ``threads_per_worker`` threads)
``address``     an existing scheduler, e.g. ``tcp://127.0.0.1:8786`` (started with
                ``dask scheduler``) or a scheduler file
``htcondor``    an HTCondor pool through :mod:`dask_jobqueue` (``HTCondorCluster``)
``slurm``       a SLURM cluster through :mod:`dask_jobqueue` (``SLURMCluster``)
``lxplus``      CERN lxplus HTCondor through :mod:`dask_lxplus` (``CernCluster``)
``gateway``     a Dask Gateway (e.g. a coffea-casa or EAF analysis facility)
==============  ==============================================================================

A string that looks like an address (``tcp://…``, ``tls://…``, ``host:port``) selects
``address``. Batch clusters need the ``cluster`` extra: ``pip install "na64tools[cluster]"``.

Scripts that start a ``LocalCluster`` must protect their entry point with
``if __name__ == "__main__":`` (the worker processes re-import the main module).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import Any

from ._signals import children_started

__all__ = ["make_client", "FACILITIES", "is_address"]

FACILITIES = ("local", "address", "htcondor", "slurm", "lxplus", "gateway")


def is_address(text: str) -> bool:
    """True for a scheduler address such as ``tcp://10.0.0.1:8786`` or ``host:8786``."""
    if "://" in text:
        return True
    host, sep, port = text.rpartition(":")
    return bool(sep and host and port.isdigit())


def _require(module: str, extra: str = "cluster"):
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{module} is needed for this facility: pip install {module.replace('_', '-')} "
            f"(or pip install \"na64tools[{extra}]\")") from err


def make_client(facility: str = "local", *, address: str | None = None, n_workers: int = 2,
                threads_per_worker: int = 1, memory: str = "2GB", cores: int = 1,
                disk: str = "2GB", walltime: str = "01:00:00", queue: str | None = None,
                scheduler_file: str | None = None, dashboard_address: str | None = "127.0.0.1:0",
                cluster_options: dict[str, Any] | None = None):
    """Create a ``distributed.Client`` for ``facility``.

    Parameters
    ----------
    facility
        One of :data:`FACILITIES`, or directly a scheduler address (``tcp://host:port``).
    address
        Scheduler address for ``address`` (or the gateway address for ``gateway``).
    n_workers
        Workers of a local cluster, or batch jobs / gateway workers to request.
    threads_per_worker, memory, cores, disk, walltime, queue
        Per-worker (per-job) resources; ``memory`` is the memory limit of each worker.
    scheduler_file
        For ``address``: connect with a scheduler file written by ``dask scheduler
        --scheduler-file``.
    dashboard_address
        For ``local``: where the Dask dashboard listens, by default a free port on the loopback
        interface only (``"127.0.0.1:0"``; ``client.dashboard_link`` gives it). ``None`` starts
        no dashboard (the scheduler's HTTP endpoint still takes a free loopback port). Listening
        on other interfaces is an explicit choice, e.g. ``"0.0.0.0:8787"``.
    cluster_options
        Extra keyword arguments for the cluster class (``LocalCluster``, ``HTCondorCluster``,
        ``SLURMCluster``, ``CernCluster``, ``Gateway.new_cluster``).

    Returns
    -------
    distributed.Client
        The client; ``client.cluster`` is the cluster it owns (``None`` for ``address``).
        Close both with ``client.close()`` and ``client.cluster.close()`` (or use
        ``with make_client(...) as client:``, which closes the client).
    """
    from distributed import Client, LocalCluster

    opts = dict(cluster_options or {})
    if facility not in FACILITIES and is_address(facility):
        facility, address = "address", facility
    if facility == "local":
        processes = opts.pop("processes", True)
        if processes and "interface" not in opts:
            # every server on the loopback interface unless asked otherwise (cluster_options
            # host= or interface=); without processes the comms are in-process (no socket)
            opts.setdefault("host", "127.0.0.1")
        if dashboard_address is None:  # no dashboard; its HTTP server still needs a port
            opts["scheduler_kwargs"] = {"dashboard": False, **opts.get("scheduler_kwargs", {})}
            dashboard_address = "127.0.0.1:0"
        cluster = client = None
        try:
            # the workers ignore a terminal's Ctrl-C (this process closes them), and an
            # interrupt while they start arrives once the cluster exists and can be closed
            with children_started():
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                       memory_limit=memory, processes=processes,
                                       dashboard_address=dashboard_address, **opts)
                client = Client(cluster)
        except BaseException:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
            raise
        client._na64_owns_cluster = True
        return client
    if facility == "address":
        if scheduler_file:
            return Client(scheduler_file=os.fspath(scheduler_file))
        if not address:
            raise ValueError("facility 'address' needs address='tcp://host:port' or scheduler_file=")
        return Client(address)
    if facility in ("htcondor", "slurm"):
        jq = _require("dask_jobqueue")
        cls = jq.HTCondorCluster if facility == "htcondor" else jq.SLURMCluster
        kw: dict[str, Any] = {"cores": cores, "memory": memory, "processes": 1}
        if facility == "htcondor":
            kw["disk"] = disk
        else:
            kw["walltime"] = walltime
            if queue:
                kw["queue"] = queue
        kw.update(opts)
        cluster = cls(**kw)
        cluster.scale(jobs=n_workers)
        client = Client(cluster)
        client._na64_owns_cluster = True
        return client
    if facility == "lxplus":
        lx = _require("dask_lxplus")
        kw = {"cores": cores, "memory": memory, "disk": disk,
              "container_runtime": "none", "lcg": True, **opts}
        cluster = lx.CernCluster(**kw)
        cluster.scale(n_workers)
        client = Client(cluster)
        client._na64_owns_cluster = True
        return client
    if facility == "gateway":
        gw = _require("dask_gateway")
        gateway = gw.Gateway(address) if address else gw.Gateway()
        cluster = gateway.new_cluster(**opts)
        cluster.scale(n_workers)
        client = cluster.get_client()
        client._na64_owns_cluster = True
        return client
    raise ValueError(f"unknown facility {facility!r} (expected one of {', '.join(FACILITIES)}, "
                     "or a scheduler address tcp://host:port)")


def close_client(client) -> None:
    """Close a client made by :func:`make_client`, and its cluster if the client owns it.

    After a Ctrl-C or SIGTERM of the command line, quietly: the warnings of workers stopped in
    the middle of a task (cancelled tasks, workers killed after a time-out) are expected then.
    """
    from . import _signals

    cluster = getattr(client, "cluster", None)
    owns = getattr(client, "_na64_owns_cluster", False)
    quiet = _signals.received is not None
    with _quiet_logs(quiet):
        if quiet and owns and cluster is not None:
            _quiet_workers(client)
        client.close()
        if owns and cluster is not None:
            cluster.close()


def _silence() -> None:
    import logging

    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _quiet_workers(client) -> None:
    try:
        client.run(_silence, wait=True)
    except Exception:  # a worker already gone: nothing to silence
        pass


@contextlib.contextmanager
def _quiet_logs(quiet: bool):
    import logging

    log = logging.getLogger("distributed")
    level = log.level
    if quiet:
        log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)
