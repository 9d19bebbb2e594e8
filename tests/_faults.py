"""Faults injected into Dask workers for the sweep's fault tests: worker plugins that wrap the ground-state
search (:func:`ising_nn.quench.search.quench`, which every quench task calls) in the worker's process.

A plugin acts only in the task whose key contains ``match`` (``distributed.get_worker().get_current_task()``)
and is set up again on a worker that replaces a killed one, so a sentinel file decides what happens:

* :class:`KillWorker`: the worker kills itself (SIGKILL) inside the task, once (``always=False``: when the
  sentinel is missing, which it then writes) or every time;
* :class:`HoldTask`: the task writes the sentinel, then waits (up to ``hold_s``) for a release file.

The plugins are pickled by reference: the workers import this module (``tests/`` is on their ``sys.path``:
a LocalCluster's spawned workers inherit it; a ``dask worker`` subprocess gets it from ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from distributed import WorkerPlugin, get_worker


class _WrapQuench(WorkerPlugin):
    def __init__(self, match: str, sentinel: str | os.PathLike):
        self.match = match
        self.sentinel = str(sentinel)

    def setup(self, worker):
        from ising_nn.quench import search

        self._original = search.quench
        plugin = self

        def quench(*args, **kw):
            key = str(get_worker().get_current_task())
            if plugin.match in key:
                plugin.fault(key)
            return plugin._original(*args, **kw)

        search.quench = quench

    def teardown(self, worker):
        from ising_nn.quench import search

        search.quench = self._original

    def fault(self, key: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class KillWorker(_WrapQuench):
    """SIGKILL the worker inside the matching task: once (the sentinel missing), or ``always``."""

    def __init__(self, match: str, sentinel: str | os.PathLike, always: bool = False):
        super().__init__(match, sentinel)
        self.always = always

    def fault(self, key: str) -> None:
        if self.always or not Path(self.sentinel).exists():
            with open(self.sentinel, "a") as f:  # one line per kill
                f.write(f"{key} {os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)


class HoldTask(_WrapQuench):
    """Write the sentinel, then wait for ``release`` (at most ``hold_s`` seconds) inside the matching task."""

    def __init__(self, match: str, sentinel: str | os.PathLike, release: str | os.PathLike, hold_s: float = 60.0):
        super().__init__(match, sentinel)
        self.release = str(release)
        self.hold_s = hold_s

    def fault(self, key: str) -> None:
        Path(self.sentinel).write_text(key)
        deadline = time.monotonic() + self.hold_s
        while not Path(self.release).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
