"""``na64tools run``: run the missing-momentum processor on ntuples and save the output.

::

    na64tools run sim/*.root --executor futures --workers 4 --out results/
    na64tools run sim/ --executor dask --scheduler tcp://10.0.0.1:8786 --cuts mycuts.yaml
    na64tools run sim/ --executor dask --facility slurm --workers 20
    na64tools run sim/ --facility slurm --workers 2:50 --queue short --walltime 00:20:00 --no-table
    na64tools run sim/ --facility slurm --dry-run          # print the job script, submit nothing
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

#: executor names (the same as na64tools.runner.EXECUTORS; kept here so `--help` imports no coffea)
EXECUTORS = ("iterative", "futures", "dask")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``run`` subcommand (run the processor) to the ``na64tools`` parser.

    Its ``main`` is set as the subcommand's ``func``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The subparsers of the ``na64tools`` parser (:func:`na64tools.cli.build_parser`).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    p = subparsers.add_parser(
        "run", help="run the missing-momentum processor (iterative, futures or Dask)",
        description="Run the NA64mu missing-momentum processor on ntuples, print the cutflow and "
                    "save histograms, cutflow, cut table and MOT (.root and .json; "
                    "na64tools.load_output reads them back).")
    p.add_argument("files", nargs="+", metavar="FILES",
                   help="ntuples, directories (their *.root) or glob patterns; grouped into "
                        "datasets by the sample/model/mass of their Runs tree")
    p.add_argument("--executor", choices=EXECUTORS, default="futures", help="default: futures")
    p.add_argument("--workers", default=None, metavar="N|MIN:MAX",
                   help="local worker processes or batch jobs (default 2); MIN:MAX for an "
                        "adaptive Dask cluster that grows to MAX workers while there is work")
    p.add_argument("--chunksize", type=int, default=None,
                   help="events per chunk (default: na64tools.runner.DEFAULT_CHUNKSIZE)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="existing Dask scheduler, e.g. tcp://127.0.0.1:8786 (implies --executor dask)")
    p.add_argument("--facility", choices=("local", "htcondor", "slurm", "lxplus", "gateway"),
                   help="create a Dask cluster on this facility (implies --executor dask)")
    site = p.add_argument_group(
        "cluster options", "for --facility; only what is given is passed, the rest comes from the "
        "site's dask-jobqueue / dask-gateway configuration (docs/dask.md)")
    site.add_argument("--cluster-config", metavar="FILE",
                      help="YAML/TOML file whose 'cluster:' section sets any of the options below "
                           "(facility, workers, cores, memory, walltime, queue, account, "
                           "job_extra, gateway_address, gateway_proxy, worker_timeout, options); "
                           "command-line options take precedence")
    site.add_argument("--cores", type=int, help="cores per batch job")
    site.add_argument("--memory", help="memory per batch job / worker, e.g. 4GB")
    site.add_argument("--disk", help="disk per HTCondor job, e.g. 4GB")
    site.add_argument("--walltime", help="time limit per batch job, HH:MM:SS")
    site.add_argument("--queue", "--partition", dest="queue",
                      help="SLURM partition (lxplus: job flavour, e.g. longlunch)")
    site.add_argument("--account", help="account / accounting group charged for the jobs")
    site.add_argument("--job-extra", action="append", metavar="DIRECTIVE",
                      help="extra job directive, repeatable: SLURM '--qos=short', HTCondor "
                           "'+JobFlavour=\"espresso\"'")
    site.add_argument("--gateway-address", metavar="URL", help="Dask Gateway address")
    site.add_argument("--gateway-proxy", metavar="ADDRESS",
                      help="Dask Gateway scheduler proxy, e.g. gateway://host:8786")
    site.add_argument("--worker-timeout", type=float, metavar="SECONDS",
                      help="give up if no Dask worker joined after this long (default "
                           "na64tools.clients.WORKER_TIMEOUT = 120 s)")
    site.add_argument("--dry-run", action="store_true",
                      help="print the job script / cluster options that would be used, and stop")
    p.add_argument("--cuts", metavar="FILE", help="YAML/TOML cut file (default: published 2022 cuts)")
    p.add_argument("--out", metavar="DIR", default="na64-run",
                   help="output directory (default ./na64-run; `na64tools limits` reads it)")
    p.add_argument("--name", default="output", help="output file stem (default 'output')")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="leave out unreadable files and list them instead of failing")
    p.add_argument("--no-table", action="store_true", help="do not store the per-event cut table")
    p.add_argument("--table-dir", metavar="DIR",
                   help="write the cut table as Parquet partitions into this new directory, from "
                        "the workers (client memory independent of the number of events; "
                        "docs/dask.md) instead of keeping it in the output")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    from . import add_model_file_option

    add_model_file_option(p)
    p.add_argument("--pickle", action="store_true",
                   help="also write NAME.coffea (coffea util.save, a pickle: loading it executes "
                        "code, so share the .root and .json instead)")
    p.set_defaults(func=main)
    return p


#: command-line option -> make_client keyword, for the cluster options
_SITE_OPTIONS = {"cores": "cores", "memory": "memory", "disk": "disk", "walltime": "walltime",
                 "queue": "queue", "account": "account", "job_extra": "job_extra",
                 "gateway_address": "address", "gateway_proxy": "proxy_address"}


def cluster_settings(args) -> dict:
    """The cluster settings of the command line: the ``cluster:`` section of
    ``--cluster-config`` overridden by the options given on the command line.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``na64tools run``.

    Returns
    -------
    dict
        The settings (keys of :data:`na64tools.clients.CLUSTER_KEYS`), the command line winning.
    """
    conf = {}
    if getattr(args, "cluster_config", None):
        from ..clients import load_cluster_config

        conf = load_cluster_config(args.cluster_config)
    for key in ("facility", "workers", "worker_timeout", *_SITE_OPTIONS):
        value = getattr(args, key, None)
        if value is not None:
            conf[key] = value
    return conf


def _client_kwargs(conf: dict) -> dict:
    kw = {_SITE_OPTIONS[k]: v for k, v in conf.items() if k in _SITE_OPTIONS}
    kw["n_workers"] = conf.get("workers", 2)
    if conf.get("options"):
        kw["cluster_options"] = dict(conf["options"])
    return kw


def main(args) -> int:
    """Run ``na64tools run``: run the missing-momentum processor on the files given
    (:func:`na64tools.run`) with the executor and cluster settings of the command line and
    ``--cluster-config``, print the cutflow and save the output into ``--out``; with
    ``--dry-run`` print the batch job script instead.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of the subcommand (``files``, ``executor``, ``workers``, ``facility``,
        ``cluster_config``, ``out``, ``dry_run``, ...).

    Returns
    -------
    int
        The exit status: 0 on success, 1 when the cluster failed
        (:class:`~na64tools.clients.ClusterError`, printed); a failed run removes the output
        directory it created.

    Raises
    ------
    ValueError
        Invalid options, a bad input file or an unwritable output directory (printed as one line by
        :func:`na64tools.cli.main`).
    """
    from ..clients import ClusterError, parse_workers
    from . import load_model_files

    load_model_files(args)  # the processor does not need the models; checked early all the same
    conf = cluster_settings(args)
    facility = conf.get("facility")
    try:
        workers = parse_workers(conf.get("workers", 2))
    except ValueError as err:
        raise ValueError(f"--workers {conf.get('workers')}: "
                         f"{str(err).removeprefix('workers: ')}") from None
    if args.dry_run:
        from ..clients import job_script

        print(job_script(facility or "local", **_client_kwargs(conf)))
        return 0
    out_existed = Path(args.out).exists()
    rc = 1
    try:
        rc = _run(args, conf, facility, workers)
        return rc
    except ClusterError as err:
        print(f"na64tools run: error: {err}", file=sys.stderr)
        return 1
    finally:
        if rc != 0 and not out_existed:  # a failed run leaves no empty output directory behind
            with contextlib.suppress(OSError):
                Path(args.out).rmdir()


def _run(args, conf, facility, workers) -> int:
    from ..output import save_output
    from ..processor import MissingMomentumProcessor
    from ..runner import DEFAULT_CHUNKSIZE, run
    from ..sim.writer import check_output_dir

    # every check before any work: options, output directory, the cluster's packages, the cuts
    if args.chunksize is not None and args.chunksize < 1:
        raise ValueError(f"--chunksize {args.chunksize}: expected a positive number of events per "
                         f"chunk (default {DEFAULT_CHUNKSIZE})")
    check_output_dir(args.out)
    executor = args.executor
    client = None
    owned = None
    if args.scheduler or facility:
        executor = "dask"
    adaptive = isinstance(workers, tuple)
    proc = _with_cut_file(args.cuts, MissingMomentumProcessor, args.cuts, table=not args.no_table)
    if args.scheduler:
        client = args.scheduler
    elif (facility and facility != "local") or (executor == "dask" and adaptive):
        from ..clients import make_client

        try:
            client = owned = make_client(facility or "local", **_client_kwargs(conf))
        except ImportError as err:
            raise ValueError(f"--facility {facility}: {err}") from None
    elif adaptive:
        raise ValueError(f"--workers {workers[0]}:{workers[1]}: an adaptive number of workers "
                         "needs a Dask cluster (--executor dask or --facility)")
    try:
        with _no_worker_tracebacks():
            out = run(args.files, proc, executor=executor, client=client,
                      chunksize=args.chunksize or DEFAULT_CHUNKSIZE,
                      workers=workers[1] if adaptive else workers,
                      skip_bad_files=args.skip_bad_files, progress=not args.no_progress,
                      worker_timeout=conf.get("worker_timeout"), table_dir=args.table_dir)
    finally:
        if owned is not None:
            from ..clients import close_client

            close_client(owned)
    print(format_cutflow(out))
    for s in out["skipped"]:
        mot = "unknown" if s.mot is None else f"{s.mot:.6g}"
        print(f"skipped {s.filename} (MOT {mot}): {s.reason}", file=sys.stderr)
    paths = save_output(out, Path(args.out) / args.name, pickle=args.pickle)
    print("saved " + ", ".join(map(str, paths)))
    return 0


def _with_cut_file(path, function, *args, **kwargs):
    """``function(*args, **kwargs)``; a :class:`~na64tools.config.ConfigError` about the cuts
    names the cut file ``path`` (once)."""
    from ..config import ConfigError

    try:
        return function(*args, **kwargs)
    except ConfigError as err:
        if path is None or str(err).startswith(str(path)):
            raise
        raise ConfigError(f"{path}: {err}") from None


@contextlib.contextmanager
def _no_worker_tracebacks():
    """Keep coffea's futures executor from printing the traceback of a failed chunk
    (``traceback.print_exc()`` in ``coffea.processor.executor``): :func:`na64tools.run` turns
    the failure into one :class:`~na64tools.processor.BadFileError` naming the file, which the
    command prints as its one error line."""
    from coffea.processor import executor as cexec

    real = cexec.traceback
    cexec.traceback = _NoPrintTraceback(real)
    try:
        yield
    finally:
        cexec.traceback = real


class _NoPrintTraceback:
    """The :mod:`traceback` module without ``print_exc``."""

    def __init__(self, module):
        self._module = module

    def print_exc(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name):
        return getattr(self._module, name)


def format_cutflow(out) -> str:
    """The cutflow of every dataset as a text table (events, sum of weights, per MOT).

    Parameters
    ----------
    out : dict
        A processor output (:func:`na64tools.run`).

    Returns
    -------
    str
        For each dataset its MOT and files, then one line per cut: events, sum of weights and
        sum of weights per MOT; then, for the datasets with events on the lfv_e calorimeter
        trigger (the ``lfv_e`` signal), the cutflow of the lfv_e selection.
    """
    lines = []
    for ds, flow in out["cutflow"].items():
        mot = out["mot"][ds].mot
        lines.append(f"{ds}  (MOT {mot:.6g}, {out['mot'][ds].n_files} files)")
        lines.append(f"  {'cut':<14s} {'events':>10s} {'sum of weights':>16s} {'per MOT':>12s}")
        for stage, row in flow.items():
            lines.append(f"  {stage:<14s} {row.events:>10d} {row.sumw:>16.6g} {row.per_mot:>12.4g}")
    for ds, flow in (out.get("lfv_e_cutflow") or {}).items():
        if flow["trigger"]["events"] == 0:
            continue
        mot = out["mot"][ds].mot
        lines.append(f"{ds}  lfv_e selection (electron shower, no outgoing muon; MOT {mot:.6g})")
        lines.append(f"  {'cut':<14s} {'events':>10s} {'sum of weights':>16s} {'per MOT':>12s}")
        for stage, row in flow.items():
            per_mot = row["sumw"] / mot if mot > 0 else float("nan")
            lines.append(f"  {stage:<14s} {row['events']:>10d} {row['sumw']:>16.6g} {per_mot:>12.4g}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the guard a LocalCluster needs
    from . import main as _cli_main

    sys.exit(_cli_main(["run", *sys.argv[1:]]))
