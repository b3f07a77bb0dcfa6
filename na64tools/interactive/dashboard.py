"""The outreach web demo: a Voilà dashboard built on the CutExplorer.

``na64tools dashboard`` builds (once, then cached) a small demo dataset with the fast simulation
and the processor, then serves ``dashboard.ipynb`` (shipped with the package) with Voilà on
127.0.0.1: the CutExplorer with plain-language text for the public, no code shown.

The dataset lives in a user cache directory (``$NA64TOOLS_CACHE_DIR``, else
``$XDG_CACHE_HOME/na64tools``, else ``~/.cache/na64tools``) under ``dashboard/<key>``, the key
hashing the sample sizes, masses, seed and na64tools version; ``--data DIR`` uses another
directory (an ``output.json`` + ``output.root`` already there, from ``na64tools run --out DIR``,
is used as it is, e.g. your own processed data).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

__all__ = [
    "DASHBOARD_MASSES",
    "DASHBOARD_SIGNAL_EVENTS",
    "DASHBOARD_BACKGROUND_EVENTS",
    "DASHBOARD_SEED",
    "DATA_ENV",
    "cache_dir",
    "demo_output",
    "notebook_path",
    "voila_command",
    "CULL_IDLE_S",
    "CULL_INTERVAL_S",
    "MAX_KERNELS",
    "template_root",
]

#: the demo dataset: X masses [GeV] of the signal samples, sample sizes, seed (a small
#: dataset that builds in well under a minute on a laptop; not a physics result)
DASHBOARD_MASSES: tuple[float, ...] = (0.005, 0.02, 0.1, 0.5, 1.0)
DASHBOARD_SIGNAL_EVENTS = 10_000
DASHBOARD_BACKGROUND_EVENTS = 200_000
DASHBOARD_SEED = 2022

#: environment variable telling the notebook where the dataset is
DATA_ENV = "NA64TOOLS_DASHBOARD_DATA"

#: hosting: a kernel (one per visitor, see docs/interactive.md for its memory) idle and without a page for this long
#: [s] is shut down; checked every CULL_INTERVAL_S. The page shuts its kernel down itself when
#: it is closed; this catches the rest (a crashed browser, a ``curl`` of the page).
CULL_IDLE_S = 60
CULL_INTERVAL_S = 15
#: at most this many kernels (visitors) at once; the next visitor gets a polite "busy" page
MAX_KERNELS = 8

_OUTPUT = "output.json"  # with output.root: na64tools.output.save_output(out, DIR / "output")
_META = "dataset.json"


def cache_dir() -> Path:
    """The user cache directory of na64tools.

    ``$NA64TOOLS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/na64tools`` or ``~/.cache/na64tools``.

    Returns
    -------
    Path
        The directory (not created here).
    """
    env = os.environ.get("NA64TOOLS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "na64tools"


def _params(masses, signal_events, background_events, seed, model) -> dict:
    from .._version import __version__

    return {"masses": [float(m) for m in masses], "signal_events": int(signal_events),
            "background_events": int(background_events), "seed": int(seed), "model": model,
            "na64tools": __version__}


def default_data_dir(**params) -> Path:
    """``<cache>/dashboard/<key>`` for the dataset parameters."""
    p = _params(**{"masses": DASHBOARD_MASSES, "signal_events": DASHBOARD_SIGNAL_EVENTS,
                   "background_events": DASHBOARD_BACKGROUND_EVENTS, "seed": DASHBOARD_SEED,
                   "model": "vector", **params})
    key = hashlib.sha256(json.dumps(p, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / "dashboard" / key


def demo_output(directory: str | os.PathLike | None = None, *, masses: Sequence[float] = DASHBOARD_MASSES,
                signal_events: int = DASHBOARD_SIGNAL_EVENTS,
                background_events: int = DASHBOARD_BACKGROUND_EVENTS, seed: int = DASHBOARD_SEED,
                model: str = "vector", rebuild: bool = False,
                log: Callable[[str], None] | None = print) -> dict:
    """The processor output of the dashboard: loaded from ``directory`` or built there.

    An ``output.json`` (+ ``output.root``, :func:`na64tools.output.save_output`) in ``directory``
    is loaded as it is (the parameters are then ignored); otherwise signal samples at ``masses``
    and a background sample are simulated into ``directory/data``, processed, and the output
    saved there with the parameters in ``directory/dataset.json``. A pickle (``output.coffea``)
    is never loaded: loading a pickle executes code. ``directory`` defaults to
    :func:`default_data_dir`.

    Parameters
    ----------
    directory : str or path, optional
        The dataset directory (default: :func:`default_data_dir` of the parameters).
    masses : sequence of float
        Signal masses [GeV] to simulate.
    signal_events, background_events : int
        Generated events of each signal sample and of the background sample.
    seed : int
        Random seed of the simulation.
    model : str
        The X model of the signal samples.
    rebuild : bool
        Build the dataset again even if an output is there.
    log : callable, optional
        Called with progress messages (default ``print``; ``None``: silent).

    Returns
    -------
    dict
        The processor output, with its cut table.
    """
    from ..output import OutputFormatError, load_output, save_output

    params = _params(masses, signal_events, background_events, seed, model)
    directory = Path(directory) if directory is not None else default_data_dir(
        masses=masses, signal_events=signal_events, background_events=background_events, seed=seed,
        model=model)
    path = directory / _OUTPUT
    if path.exists() and not rebuild:
        try:
            return load_output(path)
        except OutputFormatError as err:  # a truncated or foreign file: say which
            raise ValueError(f"{path}: cannot be read as a processor output ({err}); "
                             "delete it or pass --rebuild") from None
    if (directory / "output.coffea").exists() and not rebuild:
        raise ValueError(f"{directory / 'output.coffea'}: the dashboard loads no pickle (loading "
                         "one executes code); save the output with `na64tools run --out` (.json and "
                         ".root) or pass --rebuild")
    if log:
        log(f"building the dashboard dataset in {directory} (once; cached for the next start)")
    from ..runner import run
    from ..sim import simulate

    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, m in enumerate(params["masses"]):
        if log:
            log(f"  simulating signal, m_X = {m:g} GeV ({signal_events} events)")
        files[f"signal_{model}_m{m:g}"] = [str(f) for f in simulate(
            "signal", model=model, mass=m, events=signal_events, seed=seed + 1 + i,
            out=directory / "data" / f"signal_m{m:g}")]
    if log:
        log(f"  simulating background ({background_events} events)")
    files["background"] = [str(f) for f in simulate("background", events=background_events, seed=seed,
                                                    out=directory / "data" / "background")]
    if log:
        log("  running the processor")
    out = run(files, executor="iterative", progress=False)
    save_output(out, path)  # the index last: a concurrent reader never sees half an output
    (directory / _META).write_text(json.dumps(params, indent=2) + "\n")
    return out


def notebook_path() -> Path:
    """The dashboard notebook shipped with the package.

    Returns
    -------
    Path
        ``dashboard.ipynb`` of :mod:`na64tools.interactive`.
    """
    return Path(str(resources.files("na64tools.interactive") / "dashboard.ipynb"))


def template_root() -> Path:
    """The Jupyter data directory shipped with the package (``voila/templates/na64``): put on
    ``JUPYTER_PATH`` so that Voilà finds the dashboard template (no CDN stylesheets).

    Returns
    -------
    Path
        The ``jupyter`` data directory of :mod:`na64tools.interactive`.
    """
    return Path(str(resources.files("na64tools.interactive") / "jupyter"))


def voila_command(port: int, *, open_browser: bool = False, max_kernels: int = MAX_KERNELS,
                  cull_idle: int = CULL_IDLE_S, cull_interval: int = CULL_INTERVAL_S) -> list[str]:
    """The Voilà command line serving the dashboard on 127.0.0.1:``port``.

    Hosting options: the dashboard template (no fetch outside the server; needs
    ``JUPYTER_PATH`` to hold :func:`template_root`, as :func:`serve` sets it), idle kernels
    culled after ``cull_idle`` s without a connected page (checked every ``cull_interval`` s), at
    most ``max_kernels`` at once, and Voilà's XSRF check on: Voilà runs through
    :mod:`na64tools.interactive._voila_app`, which sets the ``_xsrf`` cookie that the page's
    kernel shutdown request (sent when the page is closed) carries.

    Parameters
    ----------
    port : int
        The port on 127.0.0.1.
    open_browser : bool
        Let Voilà open a web browser.
    max_kernels : int
        Most kernels (open pages) at once.
    cull_idle : int
        Seconds after which an idle kernel without a connected page is culled.
    cull_interval : int
        Seconds between the culling checks.

    Returns
    -------
    list of str
        The command (``sys.executable -m ...``) and its arguments.
    """
    cmd = [sys.executable, "-m", "na64tools.interactive._voila_app", os.fspath(notebook_path()),
           f"--port={int(port)}",
           "--Voila.ip=127.0.0.1", "--theme=light", "--show_tracebacks=False", "--template=na64",
           "--VoilaConfiguration.multi_kernel_manager_class="
           "na64tools.interactive._voila_kernels.CappedKernelManager",
           f"--CappedKernelManager.max_kernels={int(max_kernels)}",
           f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
           f"--MappingKernelManager.cull_interval={int(cull_interval)}",
           "--MappingKernelManager.cull_connected=False"]
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def voila_env(data: str | os.PathLike) -> dict[str, str]:
    """The environment of the Voilà server: the dataset, this na64tools, the template."""
    env = dict(os.environ, **{DATA_ENV: os.fspath(Path(data).resolve())})
    # the kernel imports the same na64tools as this process, installed or not
    root = os.fspath(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (os.fspath(template_root()),
                                                      env.get("JUPYTER_PATH", "")) if p)
    return env


def serve(port: int = 8866, *, open_browser: bool = True, data: str | os.PathLike | None = None,
          rebuild: bool = False, log: Callable[[str], None] | None = print) -> int:
    """Build or load the dataset, then run Voilà in the foreground; returns its exit code."""
    import importlib.util

    if importlib.util.find_spec("voila") is None:
        raise ValueError("the dashboard needs Voilà: pip install 'na64tools[dashboard]'")
    directory = Path(data) if data is not None else default_data_dir()
    if rebuild or not ((directory / _OUTPUT).exists() or (directory / "output.coffea").exists()):
        demo_output(directory, rebuild=rebuild, log=log)  # the page then only loads it
    env = voila_env(directory)
    if log:
        log(f"serving the NA64mu dashboard on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    proc = subprocess.Popen(voila_command(port, open_browser=open_browser), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            return proc.wait()
