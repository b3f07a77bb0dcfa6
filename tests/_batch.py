"""Real batch engines for the tests, on 127.0.0.1 only, in a temporary directory, always stopped.

- :func:`slurm`: a single-node SLURM (Debian's ``slurm-wlm``: ``slurmctld`` + ``slurmd``) with its
  own ``munged``, on free ports; ``SLURM_CONF`` points the ``sbatch``/``squeue`` commands at it.
- :func:`gateway`: a ``dask-gateway-server`` with its local backend (every cluster a set of
  processes of this user) on free ports.

Each is a context manager that yields a description, or raises :class:`Unavailable` with the
reason (not root, daemons not installed, a daemon that did not come up: its log quoted), which the
tests turn into a skip. ``.ci/run`` installs the engines (``apt-get install slurm-wlm munge``,
``pip install ".[cluster-tests]"``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from _process import stop_groups

START_TIMEOUT = 60.0  # seconds for a daemon to come up


class Unavailable(RuntimeError):
    """The engine cannot run here (the message says why)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _which(name: str, dirs=("/usr/sbin", "/usr/bin", "/sbin")) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in dirs:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None


def _start(cmd, log: Path, env=None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _tail(path: Path, n: int = 15) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def slurm(tmp: Path, *, cpus: int = 2, memory_mb: int = 4000):
    """A single-node SLURM cluster; yields ``{"conf": path, "partition": name, "log": dir}`` with
    ``SLURM_CONF`` set in ``os.environ`` meanwhile. Every job is cancelled and every daemon
    stopped at the end."""
    if sys.platform != "linux" or os.geteuid() != 0:
        raise Unavailable("a test SLURM needs root on Linux (slurmd runs the jobs as their user)")
    tools = {n: _which(n) for n in ("munged", "slurmctld", "slurmd", "sbatch", "squeue",
                                    "scancel", "scontrol", "sinfo")}
    missing = sorted(n for n, p in tools.items() if p is None)
    if missing:
        raise Unavailable(f"{', '.join(missing)} not installed (apt-get install slurm-wlm munge; "
                          ".ci/run does it)")
    plugin_dir = next((d for d in ("/usr/lib/x86_64-linux-gnu/slurm-wlm",
                                   "/usr/lib/aarch64-linux-gnu/slurm-wlm", "/usr/lib/slurm-wlm",
                                   "/usr/lib64/slurm") if os.path.isdir(d)), None)
    tmp.mkdir(parents=True, exist_ok=True)
    munge = tmp / "munge"
    munge.mkdir(mode=0o700)
    for d in ("state", "spool", "log", "jobs"):
        (tmp / d).mkdir()
    key = munge / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    sock = munge / "munge.socket"
    host = socket.gethostname()
    conf = tmp / "slurm.conf"
    conf.write_text(f"""\
ClusterName=na64test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={tmp / 'state'}
SlurmdSpoolDir={tmp / 'spool'}
SlurmctldPidFile={tmp / 'slurmctld.pid'}
SlurmdPidFile={tmp / 'slurmd.pid'}
SlurmctldLogFile={tmp / 'log' / 'slurmctld.log'}
SlurmdLogFile={tmp / 'log' / 'slurmd.log'}
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
{f'PluginDir={plugin_dir}' if plugin_dir else ''}
NodeName=na64node NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=na64test Nodes=na64node Default=YES MaxTime=INFINITE State=UP
""")
    env = dict(os.environ, SLURM_CONF=str(conf))
    old_conf = os.environ.get("SLURM_CONF")
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_start([tools["munged"], "-F", "-f", f"--socket={sock}", f"--key-file={key}",
                             f"--pid-file={munge / 'munged.pid'}",
                             f"--log-file={tmp / 'log' / 'munged.log'}",
                             f"--seed-file={munge / 'seed'}"], tmp / "log" / "munged.out"))
        _wait(lambda: sock.exists(), procs, "munged", tmp / "log" / "munged.log")
        procs.append(_start([tools["slurmctld"], "-D", "-f", str(conf)], tmp / "log" / "ctld.out",
                            env))
        procs.append(_start([tools["slurmd"], "-D", "-f", str(conf), "-N", "na64node"],
                            tmp / "log" / "slurmd.out", env))

        def idle() -> bool:
            res = subprocess.run([tools["sinfo"], "-h", "-o", "%T"], env=env, capture_output=True,
                                 text=True, check=False, timeout=20)
            return res.returncode == 0 and res.stdout.strip() == "idle"

        _wait(idle, procs, "slurmctld/slurmd", tmp / "log" / "slurmctld.log")
        os.environ["SLURM_CONF"] = str(conf)
        yield {"conf": conf, "partition": "na64test", "jobs": tmp / "jobs", "env": env,
               "squeue": tools["squeue"]}
    finally:
        if old_conf is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old_conf
        if len(procs) == 3 and all(p.poll() is None for p in procs):
            subprocess.run([tools["scancel"], "--full", "--user", "root"], env=env,
                           capture_output=True, check=False, timeout=30)
            subprocess.run([tools["scontrol"], "shutdown"], env=env, capture_output=True,
                           check=False, timeout=30)
        stop_groups(procs[::-1])


def squeue(info) -> list[str]:
    """The jobs of the test SLURM, one ``ID STATE`` line each."""
    res = subprocess.run([info["squeue"], "-h", "-o", "%i %T"], env=info["env"],
                         capture_output=True, text=True, check=True, timeout=30)
    return [ln for ln in res.stdout.splitlines() if ln.strip()]


def _wait(ready, procs, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = (f"exited with status {dead[0].returncode}" if dead
                   else f"not ready after {START_TIMEOUT:g} s")
            raise Unavailable(f"{what} {why}: {_tail(log)}")
        time.sleep(0.2)


@contextlib.contextmanager
def gateway(tmp: Path):
    """A dask-gateway-server with its local backend; yields ``{"address", "proxy_address"}``.
    Its clusters and the server are stopped at the end."""
    try:
        import dask_gateway  # noqa: F401
        import dask_gateway_server  # noqa: F401
    except ImportError as err:
        raise Unavailable(f"{err.name} not installed (pip install \"na64tools[cluster-tests]\"; "
                          ".ci/run does it)") from None
    server = Path(sys.executable).with_name("dask-gateway-server")
    cmd = [str(server)] if server.exists() else [sys.executable, "-m", "dask_gateway_server"]
    tmp.mkdir(parents=True, exist_ok=True)
    api, http, tcp = free_port(), free_port(), free_port()
    config = tmp / "gateway_config.py"
    config.write_text(f"""\
c.DaskGateway.address = "127.0.0.1:{api}"
c.Proxy.address = "127.0.0.1:{http}"
c.Proxy.tcp_address = "127.0.0.1:{tcp}"
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.LocalBackend.clusters_directory = {str(tmp / 'clusters')!r}
c.ClusterConfig.scheduler_cmd = [{sys.executable!r}, "-m", "distributed.cli.dask_scheduler"]
c.ClusterConfig.worker_cmd = [{sys.executable!r}, "-m", "distributed.cli.dask_worker"]
c.ClusterConfig.idle_timeout = 600
""")
    log = tmp / "gateway.log"
    procs = [_start([*cmd, "-f", str(config)], log)]
    try:
        def answers() -> bool:
            # through the proxy: the proxy routes /api only once it has fetched its routing
            # table from the API server (a request before that gets 404 Not Found)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/api/health", timeout=2) as r:
                    return r.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        _wait(answers, procs, "dask-gateway-server", log)
        yield {"address": f"http://127.0.0.1:{http}", "proxy_address": f"gateway://127.0.0.1:{tcp}",
               "log": log}
    finally:
        stop_groups(procs)  # SIGTERM: the server stops its clusters first
