"""Interrupts: Ctrl-C (SIGINT) and SIGTERM stop a command cleanly, whatever it was doing.

The command line (:func:`na64tools.cli.main`) installs :func:`handlers`: SIGINT raises
:class:`KeyboardInterrupt` and SIGTERM :class:`Terminated` in the main thread, so that every
``finally`` on the way out runs (temporary files removed, clusters and pools closed); a second
signal during that clean-up exits at once.

Child processes (Dask workers, process pools) are started inside :func:`children_started`: a
terminal's Ctrl-C goes to the whole process group, and workers that received it would die
printing tracebacks, or break the cluster while it starts (``AssertionError: Status.init`` at
exit). Inside the block SIGINT is blocked in the calling thread, which the threads and processes
started there inherit (so the workers never see it; their parent stops them), and a SIGINT or
SIGTERM that arrives meanwhile is delivered when the block ends, once the object being created
exists and can be closed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading

__all__ = ["Terminated", "EXIT_STATUS", "MESSAGE", "handlers", "children_started"]


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM (as :class:`KeyboardInterrupt` is on SIGINT)."""


#: exit status after a signal: 128 + its number, as a shell reports it
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
#: what the command line prints
MESSAGE = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}

_state = threading.local()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _hard_exit(signum, frame):
    """A second signal while cleaning up after the first: leave at once."""
    os.write(2, f"na64tools: {MESSAGE[signum]} again: exit without cleaning up\n".encode())
    os._exit(EXIT_STATUS[signum])


#: the first signal received under :func:`handlers` (None if none)
received: int | None = None


def _on_signal(signum, frame):
    global received
    if getattr(_state, "deferring", False):  # inside children_started: later
        _state.pending = signum
        return
    received = received or signum
    # what Dask says while its workers are stopped mid-task is expected now: not for the user
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    for sig in EXIT_STATUS:  # the clean-up runs once; a second signal exits at once
        signal.signal(sig, _hard_exit)
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def _unraisable(hook):
    """An interrupt raised where Python cannot propagate it (a weakref callback, ``__del__``):
    send the signal again a moment later, to the code running then, instead of printing it
    and going on."""

    def unraisable(info):
        if isinstance(info.exc_value, (KeyboardInterrupt, Terminated)):
            signum = signal.SIGTERM if isinstance(info.exc_value, Terminated) else signal.SIGINT
            for sig in EXIT_STATUS:
                signal.signal(sig, _on_signal)
            again = threading.Timer(0.05, signal.pthread_kill,
                                    (threading.main_thread().ident, signum))
            again.daemon = True
            again.start()
            return
        hook(info)

    return unraisable


@contextlib.contextmanager
def handlers():
    """SIGINT raises :class:`KeyboardInterrupt`, SIGTERM :class:`Terminated` (main thread only;
    the previous handlers are restored at the end). :data:`received` is the first signal."""
    global received
    if not _main_thread():
        yield
        return
    received = None
    old = {sig: signal.getsignal(sig) for sig in EXIT_STATUS}
    old_hook = sys.unraisablehook
    old_level = logging.getLogger("distributed").level
    signal.signal(signal.SIGTERM, _on_signal)
    if old[signal.SIGINT] is not signal.SIG_IGN:  # background jobs keep ignoring Ctrl-C
        signal.signal(signal.SIGINT, _on_signal)
    sys.unraisablehook = _unraisable(old_hook)
    try:
        yield
    finally:
        sys.unraisablehook = old_hook
        logging.getLogger("distributed").setLevel(old_level)
        for sig, handler in old.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def children_started():
    """Start worker processes (and the threads that start them) inside this block.

    They inherit a blocked SIGINT (a terminal's Ctrl-C reaches only this process, which stops
    them); SIGINT and SIGTERM arriving during the block are delivered at its end. Elsewhere
    than in the main thread, or without ``pthread_sigmask``, it does nothing.
    """
    if not _main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    # multiprocessing's resource tracker, when it starts, *unblocks* SIGINT in the thread that
    # starts it (Python 3.11): start it now, before the block
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    if "loky" in sys.modules:  # loky's own tracker does the same
        from loky.backend import resource_tracker as loky_tracker

        loky_tracker.ensure_running()
    outer = getattr(_state, "deferring", False)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    _state.deferring = True
    try:
        yield
    finally:
        _state.deferring = outer
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)  # a pending SIGINT: raised here
        pending = getattr(_state, "pending", None)
        if pending is not None and not outer:
            _state.pending = None
            _on_signal(pending, None)
