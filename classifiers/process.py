"""Run a classifier in a child process of its own, behind the same contract.

Why: measured on a 2-core CPU, the e5 encoder runs about 40 % slower when
torch is driven from a worker thread than from a process's main thread
(bench/classify_bench.py, and the thread-vs-main comparison in its notes), and
the worker's event loop must never wait on inference. A child process gives
inference a main thread of its own; texts and predictions cross a pipe, which
costs little next to a forward pass.

The child dies with its parent (``PR_SET_PDEATHSIG``), and a child that dies
is started again once, on the next call.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from typing import Any

from .base import Classifier, Prediction


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)
    except OSError:
        pass


def _serve(conn: Any, name: str, params: dict[str, Any]) -> None:
    """The child's loop: load once, then answer ``predict`` requests until told to stop."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .registry import create

    try:
        model = create(name, **params).load()
        model.predict(["warm-up: the first call loads lazy parts (language model, kernels)"])
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", model.name, model.version))
    while True:
        try:
            request, payload = conn.recv()
        except (EOFError, OSError):
            return
        if request == "stop":
            return
        try:
            conn.send(("ok", model.predict(payload)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class ClassifierProcess(Classifier):
    """The classifier registered as ``classifier`` (with ``params``), run in a child process."""

    def __init__(self, classifier: str, params: dict[str, Any] | None = None) -> None:
        self.classifier = classifier
        self.params = params or {}

    def load(self) -> "ClassifierProcess":
        self.close()
        context = multiprocessing.get_context("spawn")
        self.conn_, child = context.Pipe()
        self.process_ = context.Process(
            target=_serve, args=(child, self.classifier, self.params), name=f"classify-{self.classifier}", daemon=True
        )
        self.process_.start()
        child.close()
        self.lock_ = threading.Lock()
        try:
            status, *rest = self.conn_.recv()
        except EOFError:
            raise RuntimeError(f"the {self.classifier} classifier process exited while loading") from None
        if status != "ready":
            self.process_.join(5)
            raise RuntimeError(f"cannot load classifier {self.classifier!r} in its process: {rest[0]}")
        self.name, self.version = rest
        return self

    def _call(self, texts: list[str]) -> list[Prediction]:
        self.conn_.send(("predict", texts))
        status, payload = self.conn_.recv()
        if status != "ok":
            raise RuntimeError(f"classifier {self.name} failed: {payload}")
        return list(payload)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        with self.lock_:
            try:
                return self._call(list(texts))
            except (EOFError, BrokenPipeError, ConnectionResetError):
                self.close()
                self.load()
                return self._call(list(texts))

    def close(self) -> None:
        """Stop the child; safe to call twice."""
        process = getattr(self, "process_", None)
        if process is None:
            return
        try:
            self.conn_.send(("stop", None))
        except (OSError, ValueError):
            pass
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)
        self.conn_.close()
        self.process_ = None
