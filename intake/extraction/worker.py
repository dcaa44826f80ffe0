"""Run an untrusted-input function in a worker process with a time and memory limit.

A crafted PDF can make pdfminer loop for minutes or eat gigabytes; a separate process is
the only boundary that can be enforced from outside. Each thread keeps one long-lived
worker (`python -m intake.extraction.worker`), so a call costs a pipe round trip, not a process
start; a worker that times out, runs out of memory or dies is killed and replaced.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from intake.errors import ExtractionError

_HEADER = struct.Struct("!Q")
_local = threading.local()


def _write(stream: BinaryIO, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, missing = [], size
    while missing:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _read(fd: int, deadline: float | None) -> Any:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, size, deadline))


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "intake.extraction.worker", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def call(self, func: Callable[..., Any], args: tuple, timeout: float) -> tuple[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        _write(self.proc.stdin, (func, args))
        return _read(self.proc.stdout.fileno(), time.monotonic() + timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()


def run_isolated(
    func: Callable[..., Any], *args: Any, timeout: float, memory_mb: int = 1024
) -> Any:
    """Return `func(*args)` computed in the worker, or raise ExtractionError on error/timeout.

    `func` and its arguments must be picklable (a module-level function and plain data).
    """
    worker = getattr(_local, "worker", None)
    if worker is None or worker.memory_mb != memory_mb or worker.proc.poll() is not None:
        worker = _local.worker = _Worker(memory_mb)
    try:
        status, value = worker.call(func, args, timeout)
    except TimeoutError:
        _discard(worker)
        raise ExtractionError(f"gave up after {timeout:g}s") from None
    except (EOFError, OSError, pickle.UnpicklingError, struct.error):
        _discard(worker)
        raise ExtractionError("extractor process died") from None
    if status == "fatal":
        _discard(worker)
    if status != "ok":
        raise ExtractionError(value)
    return value


def _discard(worker: _Worker) -> None:
    worker.kill()
    _local.worker = None


def _serve(memory_mb: int) -> None:
    """Worker loop: one (func, args) request in, one (status, value) answer out."""
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    requests = sys.stdin.buffer.fileno()
    # Answers go to a private copy of stdout; anything a parser prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    while True:
        try:
            func, args = _read(requests, None)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", func(*args))
        except MemoryError:
            answer = ("fatal", "ran out of memory")
        except Exception as exc:  # the worker reports every failure as data
            answer = ("error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            _write(answers, answer)
        except (pickle.PicklingError, TypeError) as exc:
            _write(answers, ("error", f"unpicklable result: {exc}"))


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
