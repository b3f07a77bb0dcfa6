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

Site configuration is respected: for batch systems and gateways only the resources the caller
sets (``cores``, ``memory``, ``walltime``, ``queue``, ``account``, ``job_extra``, …) are passed;
everything else comes from the dask-jobqueue / dask-gateway configuration of the site
(``~/.config/dask/jobqueue.yaml``, ``gateway.yaml``, ``DASK_…`` variables). Only ``cores=1``,
``memory="2GB"`` (and ``disk="2GB"`` for HTCondor) fill in for a configuration that sets none.

Failures are loud (:class:`ClusterError`, one line): a batch system that rejects the jobs (its
error and the job ids quoted), a scheduler address that does not answer within
``connect_timeout``, no worker joining within ``timeout`` seconds (:func:`wait_for_workers`, which
:func:`na64tools.run` calls). The client that :func:`make_client` returns owns the cluster it
created: ``with make_client(...) as client:`` (or ``client.close()``) closes both and cancels the
batch jobs.

Scripts that start a ``LocalCluster`` must protect their entry point with
``if __name__ == "__main__":`` (the worker processes re-import the main module).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import distributed

from ._signals import children_started

__all__ = ["make_client", "FACILITIES", "is_address", "ClusterError", "ClusterClient",
           "wait_for_workers", "close_client", "parse_workers", "job_script",
           "load_cluster_config", "WORKER_TIMEOUT", "CONNECT_TIMEOUT"]

FACILITIES = ("local", "address", "htcondor", "slurm", "lxplus", "gateway")

#: seconds to wait for the first worker of a cluster before giving up (``--worker-timeout``)
WORKER_TIMEOUT = 120.0
#: seconds to wait for a scheduler address or a gateway to answer
CONNECT_TIMEOUT = 30.0

#: per-job options of :func:`make_client` passed to the batch system only when set
_JOB_OPTIONS = ("cores", "memory", "disk", "walltime", "queue", "account", "job_extra",
                "processes")


class ClusterError(RuntimeError):
    """A cluster that could not be used: jobs rejected, no worker joining, no scheduler answering.

    The message is one line that quotes the batch system (its error, the job ids and their
    state) or the address involved.
    """


class ClusterClient(distributed.Client):
    """A ``distributed.Client`` that owns its cluster: closing the client (``client.close()``
    or the end of a ``with`` block) closes the cluster too, which cancels its batch jobs."""

    def close(self, timeout=distributed.client.no_default):
        """Close the client, then the cluster it owns (its batch jobs are cancelled).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the client to close (``distributed.Client.close``'s default).

        Returns
        -------
        object
            What ``distributed.Client.close`` returns.
        """
        try:
            return super().close(timeout=timeout)
        finally:
            cluster = self.cluster
            if cluster is not None and not sys.is_finalizing():
                with contextlib.suppress(Exception):  # already closed, or its loop gone
                    cluster.close()
                _forget_gateway(cluster)


def _forget_gateway(cluster) -> None:
    """After a gateway cluster is closed: dask-gateway's ``Gateway.__del__`` closes the gateway
    client a second time and fails on its stopped event loop (an error printed at exit);
    without its loop runner it does nothing."""
    gateway = getattr(cluster, "gateway", None)
    if gateway is not None and "_loop_runner" in getattr(gateway, "__dict__", {}):
        with contextlib.suppress(Exception):
            if not gateway._loop_runner.is_started():
                del gateway._loop_runner


def is_address(text: str) -> bool:
    """True for a scheduler address such as ``tcp://10.0.0.1:8786`` or ``host:8786``.

    Parameters
    ----------
    text : str
        A facility name or an address.

    Returns
    -------
    bool
        Whether ``text`` has a scheme (``tcp://...``) or is ``host:port`` with a numeric port.
    """
    if "://" in text:
        return True
    host, sep, port = text.rpartition(":")
    return bool(sep and host and port.isdigit())


def parse_workers(value) -> int | tuple[int, int]:
    """``4`` → 4 workers; ``"2:10"`` or ``(2, 10)`` → an adaptive cluster of 2 to 10 workers.

    Raises ``ValueError`` (one line, naming the value) for anything else.

    Parameters
    ----------
    value : int, str or (int, int)
        ``N``, ``"N"``, ``"MIN:MAX"`` or ``(MIN, MAX)``.

    Returns
    -------
    int or (int, int)
        The number of workers, or ``(MIN, MAX)`` with ``1 <= MIN < MAX`` (``MIN == MAX`` gives
        that number).
    """
    if isinstance(value, str):
        lo, sep, hi = value.partition(":")
        try:
            value = (int(lo), int(hi)) if sep else int(value)
        except ValueError:
            raise ValueError(f"workers: expected N or MIN:MAX (e.g. 4 or 2:20), got {value!r}") from None
    if isinstance(value, (tuple, list)) and len(value) == 2:
        lo, hi = (int(v) for v in value)
        if not 1 <= lo <= hi:
            raise ValueError(f"workers: expected 1 <= MIN <= MAX, got {lo}:{hi} (an adaptive "
                             "cluster keeps at least one worker, so that a run can start)")
        return (lo, hi) if lo < hi else lo
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"workers: expected a positive number of workers, got {value!r}")
    return value


def _require(module: str, extra: str = "cluster"):
    import signal
    import threading

    # dask_jobqueue replaces the SIGINT handler when imported (a Ctrl-C then exits with status
    # 0 and leaves the jobs queued): keep the one in place (na64tools._signals)
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main else None
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{module} is needed for this facility: pip install {module.replace('_', '-')} "
            f"(or pip install \"na64tools[{extra}]\")") from err
    finally:
        if main and handler is not None and signal.getsignal(signal.SIGINT) is not handler:
            signal.signal(signal.SIGINT, handler)


def _job_extra(facility: str, job_extra) -> Any:
    """``job_extra`` as dask-jobqueue wants it: a list of directives (SLURM) or a dict of submit
    file lines (HTCondor, lxplus: ``"KEY=VALUE"`` strings are split)."""
    if job_extra is None:
        return None
    if facility == "slurm":
        if isinstance(job_extra, Mapping):
            raise ValueError("job_extra: expected SLURM directives such as ['--qos=short'], "
                             f"got a mapping {dict(job_extra)!r}")
        return [str(x) for x in ([job_extra] if isinstance(job_extra, str) else job_extra)]
    if isinstance(job_extra, Mapping):
        return {str(k): str(v) for k, v in job_extra.items()}
    out = {}
    for item in [job_extra] if isinstance(job_extra, str) else job_extra:
        key, sep, val = str(item).partition("=")
        if not sep or not key.strip():
            raise ValueError(f"job_extra: expected HTCondor submit lines KEY=VALUE (e.g. "
                             f"'+JobFlavour=\"espresso\"'), got {item!r}")
        out[key.strip()] = val.strip()
    return out


def _batch_kwargs(facility: str, config_name: str, given: Mapping[str, Any],
                  opts: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the dask-jobqueue cluster: what the caller set, nothing else
    (``cores``/``memory`` only when neither the caller nor the site configuration sets them)."""
    import dask

    kw: dict[str, Any] = {}
    for name in _JOB_OPTIONS:
        value = given.get(name)
        if value is None:
            continue
        if name == "job_extra":
            kw["job_extra_directives"] = _job_extra(facility, value)
        elif name == "queue" and facility != "slurm":
            if facility == "lxplus":   # CERN's HTCondor "queues" are job flavours
                kw.setdefault("job_extra_directives", {})["+JobFlavour"] = f'"{value}"'
            else:
                raise ValueError(f"queue: HTCondor has no queues; give the submit lines with "
                                 f"job_extra (e.g. '+JobFlavour=\"{value}\"'), got queue={value!r}")
        elif name == "account" and facility != "slurm":
            kw.setdefault("job_extra_directives", {})["+AccountingGroup"] = f'"{value}"'
        elif name == "walltime" and facility != "slurm":
            kw.setdefault("job_extra_directives", {})["+MaxRuntime"] = str(_seconds(value))
        else:
            kw[name] = value
    if "job_extra_directives" in kw and facility != "slurm":
        kw["job_extra_directives"] = {**_job_extra(facility, opts.get("job_extra_directives") or {}),
                                      **kw["job_extra_directives"]}
    kw.update({k: v for k, v in opts.items() if k not in kw})
    sched = dict(dask.config.get(f"jobqueue.{config_name}.scheduler-options", None) or {})
    sched.update(kw.get("scheduler_options") or {})
    if "dashboard_address" not in sched:  # the dashboard on the loopback interface only
        kw["scheduler_options"] = {**sched, "dashboard_address": "127.0.0.1:0"}
    fallbacks = [("cores", 1), ("memory", "2GB")] + ([("disk", "2GB")] if facility != "slurm" else [])
    for name, fallback in fallbacks:
        if name not in kw and dask.config.get(f"jobqueue.{config_name}.{name}", None) is None:
            kw[name] = fallback
    return kw


def _seconds(walltime: str) -> int:
    """``"01:30:00"`` (or ``"90:00"``, ``"45"``) → seconds."""
    parts = [int(p) for p in str(walltime).split(":")]
    total = 0
    for p in parts:
        total = 60 * total + p
    return total


def _jobqueue_cluster(facility: str):
    """(cluster class, config name) of a batch facility."""
    if facility == "lxplus":
        return _require("dask_lxplus").CernCluster, "cern"
    jq = _require("dask_jobqueue")
    if facility == "htcondor":
        return jq.HTCondorCluster, "htcondor"
    return jq.SLURMCluster, "slurm"


def job_script(facility: str, **kwargs) -> str:
    """What :func:`make_client` would submit, without submitting anything.

    For batch facilities the job script (``SLURMCluster.job_script()`` etc., written by a
    throw-away cluster whose scheduler listens on 127.0.0.1: its address is a stand-in), for the
    others the options it would use. Takes the keyword arguments of :func:`make_client`.

    Parameters
    ----------
    facility : str
        One of :data:`FACILITIES`.
    **kwargs
        The keyword arguments of :func:`make_client`.

    Returns
    -------
    str
        The job script, after a comment line with the cluster class and its options (batch
        facilities), or a description of the options (the others).
    """
    given, opts, n = _split_kwargs(facility, kwargs)
    if facility in ("htcondor", "slurm", "lxplus"):
        cls, config_name = _jobqueue_cluster(facility)
        kw = _batch_kwargs(facility, config_name, given, opts)
        head = (f"# {cls.__name__}: {_describe_workers(n)}, options {kw!r}\n"
                "# (the scheduler address below is a stand-in: a real run has its own)\n")
        # the cluster object writes the script (dask-lxplus completes the options there); its
        # scheduler listens on the loopback interface meanwhile: nothing is submitted
        dry = {**kw, "scheduler_options": {**kw.get("scheduler_options", {}),
                                           "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}}
        dry.pop("interface", None)
        import warnings

        with warnings.catch_warnings():  # what the throw-away scheduler says is not for the user
            warnings.simplefilter("ignore")
            with cls(**dry) as cluster:
                script = cluster.job_script()
        return head + script
    lines = [f"facility: {facility}", f"workers: {_describe_workers(n)}"]
    lines += [f"{k}: {v!r}" for k, v in sorted(given.items()) if v is not None]
    lines += [f"cluster_options: {opts!r}"] if opts else []
    return "\n".join(lines)


def _describe_workers(n) -> str:
    return f"adaptive, {n[0]} to {n[1]} jobs" if isinstance(n, tuple) else f"{n} jobs"


def _split_kwargs(facility, kwargs):
    given = {k: kwargs.get(k) for k in (*_JOB_OPTIONS, "address", "proxy_address")}
    opts = dict(kwargs.get("cluster_options") or {})
    n = parse_workers(kwargs.get("n_workers") if kwargs.get("n_workers") is not None else 2)
    return given, opts, n


def make_client(facility: str = "local", *, address: str | None = None, n_workers=2,
                threads_per_worker: int = 1, memory: str | None = None, cores: int | None = None,
                disk: str | None = None, walltime: str | None = None, queue: str | None = None,
                account: str | None = None, job_extra=None, processes: int | None = None,
                proxy_address: str | None = None, scheduler_file: str | None = None,
                dashboard_address: str | None = "127.0.0.1:0",
                connect_timeout: float = CONNECT_TIMEOUT,
                cluster_options: dict[str, Any] | None = None):
    """Create a ``distributed.Client`` for ``facility``.

    Parameters
    ----------
    facility
        One of :data:`FACILITIES`, or directly a scheduler address (``tcp://host:port``).
    address
        Scheduler address for ``address``; the gateway address for ``gateway`` (default: the
        dask-gateway configuration, ``DASK_GATEWAY__ADDRESS``).
    n_workers
        Workers of a local cluster, or batch jobs / gateway workers to request: a number, or
        ``(MIN, MAX)`` / ``"MIN:MAX"`` for an adaptive cluster (``cluster.adapt``) that grows
        to ``MAX`` while there is work and shrinks back to ``MIN`` (at least 1).
    threads_per_worker
        Threads of each local worker.
    memory, cores, disk, walltime, queue, account, job_extra, processes
        Per-job resources of batch systems, passed only when set (otherwise the site's
        dask-jobqueue configuration applies). ``memory`` is also the memory limit of each local
        worker (default ``"2GB"``). ``job_extra``: SLURM directives (``["--qos=short"]``) or
        HTCondor submit lines (``{"+JobFlavour": '"espresso"'}`` or ``["+JobFlavour=..."]``).
        For HTCondor ``account`` and ``walltime`` become ``+AccountingGroup`` and
        ``+MaxRuntime``; for lxplus ``queue`` is the job flavour (``espresso``, ``longlunch``…).
    proxy_address
        For ``gateway``: the scheduler proxy address (``gateway://host:port``), when the facility
        gives one (default: the dask-gateway configuration).
    scheduler_file
        For ``address``: connect with a scheduler file written by ``dask scheduler
        --scheduler-file``.
    dashboard_address
        For ``local``: where the Dask dashboard listens, by default a free port on the loopback
        interface only (``"127.0.0.1:0"``; ``client.dashboard_link`` gives it). ``None`` starts
        no dashboard (the scheduler's HTTP endpoint still takes a free loopback port). Listening
        on other interfaces is an explicit choice, e.g. ``"0.0.0.0:8787"``.
    connect_timeout
        Seconds to wait for a scheduler address or a gateway to answer.
    cluster_options
        Extra keyword arguments for the cluster class (``LocalCluster``, ``HTCondorCluster``,
        ``SLURMCluster``, ``CernCluster``, ``GatewayCluster``), e.g. ``{"lcg": True}`` for lxplus.

    Returns
    -------
    distributed.Client
        For a cluster it creates, a :class:`ClusterClient` that owns it (``client.cluster``):
        ``with make_client(...) as client:`` or ``client.close()`` closes both and cancels the
        batch jobs. For ``address``, a plain client (``client.cluster`` is ``None``).

    Raises
    ------
    ClusterError
        The batch system rejected the jobs (its error and the job ids quoted; what was
        submitted is cancelled), or the scheduler / gateway does not answer.

    Examples
    --------
    A local cluster of one worker (its dashboard on a free loopback port), closed on leaving
    the ``with`` block; ``na64tools.run(fileset, executor="dask", client=client)`` runs on it:

    >>> from na64tools.clients import make_client
    >>> with make_client("local", n_workers=1) as client:
    ...     print(len(client.scheduler_info()["workers"]))
    1

    On a batch system the same call requests jobs, e.g. (not run here: it needs HTCondor)
    ``make_client("lxplus", n_workers=(1, 20), queue="espresso")``.
    """
    opts = dict(cluster_options or {})
    if facility not in FACILITIES and is_address(facility):
        facility, address = "address", facility
    if facility not in FACILITIES:
        raise ValueError(f"unknown facility {facility!r} (expected one of {', '.join(FACILITIES)}, "
                         "or a scheduler address tcp://host:port)")
    workers = parse_workers(n_workers)
    lo, hi = workers if isinstance(workers, tuple) else (workers, None)
    if facility == "local":
        processes_ = opts.pop("processes", True)
        if processes_ and "interface" not in opts:
            # every server on the loopback interface unless asked otherwise (cluster_options
            # host= or interface=); without processes the comms are in-process (no socket)
            opts.setdefault("host", "127.0.0.1")
        if dashboard_address is None:  # no dashboard; its HTTP server still needs a port
            opts["scheduler_kwargs"] = {"dashboard": False, **opts.get("scheduler_kwargs", {})}
            dashboard_address = "127.0.0.1:0"

        def start():
            # the workers ignore a terminal's Ctrl-C (this process closes them), and an
            # interrupt while they start arrives once the cluster exists and can be closed
            with children_started():
                return distributed.LocalCluster(
                    n_workers=lo, threads_per_worker=threads_per_worker,
                    memory_limit=memory or "2GB", processes=processes_,
                    dashboard_address=dashboard_address, **opts)

        return _owning_client(facility, start, lo, hi)
    if facility == "address":
        return _connect(address, scheduler_file, connect_timeout)
    given = {"cores": cores, "memory": memory, "disk": disk, "walltime": walltime,
             "queue": queue, "account": account, "job_extra": job_extra, "processes": processes}
    if facility in ("htcondor", "slurm", "lxplus"):
        cls, config_name = _jobqueue_cluster(facility)
        kw = _batch_kwargs(facility, config_name, given, opts)
        kw.setdefault("job_cls", _recording_job(cls.job_cls))
        return _owning_client(facility, lambda: cls(**kw), lo, hi,
                              submit_timeout=connect_timeout)
    # gateway
    gw = _require("dask_gateway")
    gw_kw = {k: v for k, v in (("address", address), ("proxy_address", proxy_address)) if v}
    other = sorted(k for k, v in given.items() if v is not None and k not in ("cores", "memory"))
    if other:
        raise ValueError(f"{other[0]}: not an option of a Dask Gateway; give the gateway's own "
                         "cluster options with cluster_options= (see Gateway().cluster_options())")
    # the names most gateways use (dask-gateway's own backends, coffea-casa)
    opts = {**{f"worker_{k}": given[k] for k in ("cores", "memory") if given[k] is not None},
            **opts}

    def start_gateway():
        try:
            return gw.GatewayCluster(**gw_kw, **opts)
        except (gw.GatewayClusterError, gw.GatewayServerError, ValueError, OSError) as err:
            where = address or "the configured gateway (gateway.address)"
            raise ClusterError(f"gateway {where}: cannot start a cluster: {_one_line(err)}") from None
        except Exception as err:  # aiohttp's connection errors, a TimeoutError
            where = address or "the configured gateway (gateway.address)"
            raise ClusterError(f"gateway {where} does not answer: {_one_line(err)}") from None

    return _owning_client(facility, start_gateway, lo, hi)


def _owning_client(facility: str, start, lo: int, hi: int | None, *,
                   submit_timeout: float = CONNECT_TIMEOUT) -> ClusterClient:
    """Start the cluster, request the workers, check that the batch system took the jobs, and
    return a :class:`ClusterClient` owning the cluster (everything closed on an error)."""
    cluster = client = None
    try:
        cluster = start()
        if facility != "local":
            cluster.scale(lo)
            if hasattr(cluster, "job_cls"):
                _check_submitted(facility, cluster, lo, submit_timeout)
        if hi is not None:
            cluster.adapt(minimum=lo, maximum=hi)
        with children_started() if facility == "local" else contextlib.nullcontext():
            kw = {"security": cluster.security} if facility == "gateway" else {}
            client = ClusterClient(cluster, **kw)
    except BaseException:
        if client is not None:
            client.close()
        elif cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        raise
    return client


def _recording_job(base):
    """A subclass of the dask-jobqueue job class ``base`` that keeps the batch system's answer
    when it refuses a job (``job.submit_error``) instead of raising it in a background task,
    where it would only be logged while the run waits forever."""
    from distributed.core import Status

    class RecordingJob(base):
        submit_error: BaseException | None = None

        async def start(self):
            try:
                await super().start()
            except Exception as err:
                self.submit_error = err
                self.status = Status.running  # nothing to wait for: _check_submitted reports

        async def close(self):
            try:
                await super().close()
            finally:
                self.status = Status.closed

    RecordingJob.__name__ = RecordingJob.__qualname__ = base.__name__
    return RecordingJob


def _check_submitted(facility: str, cluster, n: int, timeout: float) -> None:
    """Wait until the submit command of each of the ``n`` jobs returned; raise
    :class:`ClusterError` (quoting the batch system) if it refused any."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = list(cluster.workers.values())
        errors = [j.submit_error for j in jobs if getattr(j, "submit_error", None) is not None]
        done = [j for j in jobs if getattr(j, "job_id", None) or getattr(j, "submit_error", None)]
        if errors or len(done) >= n:
            break
        if time.monotonic() > deadline:
            raise ClusterError(f"{facility}: the submit command did not answer for {timeout:g} s "
                               f"({len(done)} of {n} jobs submitted)")
        time.sleep(0.05)
    if errors:
        ids = _job_ids(cluster)
        submitted = f" (jobs {', '.join(ids)} were submitted and are cancelled)" if ids else ""
        raise ClusterError(f"{facility}: the batch system rejected the Dask worker jobs: "
                           f"{_submit_error(errors[0])}{submitted}")


def _submit_error(err: BaseException) -> str:
    """The batch system's own words from a dask-jobqueue submission error."""
    text = str(err)
    m = re.search(r"Command:\n(.*?)\nstdout:\n(.*?)\nstderr:\n(.*)", text, flags=re.S)
    if m:
        command = m.group(1).split()[0] if m.group(1).split() else "the submit command"
        said = [ln.strip() for ln in (m.group(3) + "\n" + m.group(2)).splitlines() if ln.strip()]
        exit_code = re.search(r"Exit code: (\d+)", text)
        code = f", exit code {exit_code.group(1)}" if exit_code else ""
        return f"{os.path.basename(command)}{code}: {' | '.join(said) or '(no output)'}"
    if isinstance(err, FileNotFoundError):
        return f"{err.filename or err}: command not found (is this a submit node of the batch system?)"
    return _one_line(err)


def _one_line(err: BaseException) -> str:
    text = " | ".join(ln.strip() for ln in str(err).splitlines() if ln.strip())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _job_ids(cluster) -> list[str]:
    ids = []
    for job in getattr(cluster, "workers", {}).values():
        job_id = getattr(job, "job_id", None)
        if job_id:
            ids.append(str(job_id))
    return sorted(ids, key=lambda s: (len(s), s))


def _job_states(cluster, ids: list[str]) -> str:
    """What the batch system says about the jobs (``squeue`` / ``condor_q``), best effort."""
    name = type(cluster).__name__
    if "SLURM" in name:
        cmd = ["squeue", "-h", "-o", "%i %T %r", "-j", ",".join(ids)]
    elif "HTCondor" in name or "Cern" in name:
        cmd = ["condor_q", *ids, "-af", "ClusterId", "JobStatus", "HoldReason"]
    else:
        return ""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        return f"; {cmd[0]}: {_one_line(err)}"
    said = [ln.strip() for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    return f"; {shlex.join(cmd[:1])} says: {' | '.join(said[:10]) or 'no such job (finished?)'}"


def wait_for_workers(client, n: int = 1, timeout: float | None = WORKER_TIMEOUT) -> None:
    """Return once ``n`` workers are connected to ``client``'s scheduler.

    Parameters
    ----------
    client : distributed.Client
        The client whose scheduler should have the workers.
    n : int
        Workers to wait for.
    timeout : float, optional
        Seconds to wait (default :data:`WORKER_TIMEOUT`); ``None`` waits for ever.

    Raises
    ------
    ClusterError
        After ``timeout`` seconds without them: the message names the scheduler, the batch
        jobs and what the batch system says about them (pending reason, held…). The caller
        closes the client (a :class:`ClusterClient` cancels its jobs on close).
    """
    if timeout is None:
        client.wait_for_workers(n)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            have = len(client.scheduler_info()["workers"])
        except Exception as err:
            raise ClusterError(f"Dask scheduler {_address(client)} does not answer: "
                               f"{_one_line(err)}") from None
        if have >= n:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    cluster = getattr(client, "cluster", None)
    ids = _job_ids(cluster) if cluster is not None else []
    jobs = ""
    if ids:
        jobs = f"; batch jobs {', '.join(ids)}" + _job_states(cluster, ids)
    elif cluster is not None and hasattr(cluster, "status") and "Gateway" in type(cluster).__name__:
        jobs = f"; gateway cluster {getattr(cluster, 'name', '?')}"
    raise ClusterError(f"no Dask worker joined the scheduler {_address(client)} within "
                       f"{timeout:g} s ({have} of {n}){jobs}: check the batch system, or wait "
                       "longer with --worker-timeout / worker_timeout=")


def _address(client) -> str:
    try:
        return str(client.scheduler.address)
    except Exception:
        return "?"


def _connect(address, scheduler_file, timeout: float):
    """A plain client of an existing scheduler; :class:`ClusterError` if it does not answer."""
    if not address and not scheduler_file:
        raise ValueError("facility 'address' needs address='tcp://host:port' or scheduler_file=")
    where = address or f"in {scheduler_file}"
    try:
        if scheduler_file:
            if not os.path.exists(scheduler_file):
                raise ClusterError(f"scheduler file {scheduler_file}: no such file")
            return distributed.Client(scheduler_file=os.fspath(scheduler_file), timeout=timeout)
        return distributed.Client(address, timeout=timeout)
    except ClusterError:
        raise
    except (OSError, TimeoutError, ValueError) as err:
        raise ClusterError(f"Dask scheduler {where} does not answer within {timeout:g} s: "
                           f"{_one_line(err)}") from None


def close_client(client) -> None:
    """Close a client made by :func:`make_client`, and its cluster if the client owns it.

    After a Ctrl-C or SIGTERM of the command line, quietly: the warnings of workers stopped in
    the middle of a task (cancelled tasks, workers killed after a time-out) are expected then.

    Parameters
    ----------
    client : distributed.Client
        The client (a :class:`ClusterClient` closes its cluster and cancels its batch jobs).
    """
    from . import _signals

    owns = isinstance(client, ClusterClient) and client.cluster is not None
    quiet = _signals.received is not None
    with _quiet_logs(quiet):
        if quiet and owns:
            _quiet_workers(client)
        client.close()   # a ClusterClient closes its cluster too


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


#: keys of a ``cluster:`` section of a run configuration (the make_client keywords)
CLUSTER_KEYS = ("facility", "workers", "cores", "memory", "disk", "walltime", "queue", "account",
                "job_extra", "processes", "gateway_address", "gateway_proxy", "worker_timeout",
                "options")


def load_cluster_config(path: str | os.PathLike) -> dict[str, Any]:
    """The ``cluster:`` section of a YAML or TOML run configuration (or the whole file if it has
    no such section), validated: keys among :data:`CLUSTER_KEYS`.

    ``options`` is a mapping passed as ``cluster_options`` to the cluster class. Raises
    ``ValueError`` naming the file and the key for anything else.

    Parameters
    ----------
    path : str or path
        The ``.yaml``/``.yml`` or ``.toml`` run configuration.

    Returns
    -------
    dict
        The validated settings (keys among :data:`CLUSTER_KEYS`).
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise ValueError(f"{p}: cannot read the cluster configuration: {err.strerror}") from None
    try:
        if p.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:
        raise ValueError(f"{p}: not valid {'TOML' if p.suffix == '.toml' else 'YAML'}: "
                         f"{_one_line(err)}") from None
    if isinstance(data, Mapping) and "cluster" in data:
        data = data["cluster"]
    if not isinstance(data, Mapping):
        raise ValueError(f"{p}: expected a 'cluster:' mapping, got {type(data).__name__}")
    for key in data:
        if key not in CLUSTER_KEYS:
            raise ValueError(f"{p}: cluster.{key}: unknown key (expected one of "
                             f"{', '.join(CLUSTER_KEYS)})")
    if "options" in data and not isinstance(data["options"], Mapping):
        raise ValueError(f"{p}: cluster.options: expected a mapping of cluster-class keyword "
                         f"arguments, got {data['options']!r}")
    if "facility" in data and data["facility"] not in FACILITIES:
        raise ValueError(f"{p}: cluster.facility: expected one of {', '.join(FACILITIES)}, got "
                         f"{data['facility']!r}")
    return dict(data)
