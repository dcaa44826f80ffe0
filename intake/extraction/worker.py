"""Run an untrusted-input function in a worker process with a time and memory limit.

A crafted PDF can make pdfminer loop for minutes or eat gigabytes; a separate process is
the only boundary that can be enforced from outside. Long-lived workers (`python -m
intake.extraction.worker`, started ahead with `prestart`) wait in a pool, so a call costs
a pipe round trip, not a process start; a worker that times out, runs out of memory or
dies is killed (with its process group: a tesseract it started goes too), not reused.

The worker holds nothing worth stealing: it starts with a clean environment (no SMTP or
IMAP passwords), in an empty private directory, with address-space, CPU-time and core
limits. Inside it, `time_limit` interrupts one step (one document) without killing the
worker, so a slow attachment costs its own limit and the rest of the message is read.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from intake.errors import ExtractionError

_HEADER = struct.Struct("!Q")
_idle: list[_Worker] = []  # workers waiting for a call
_idle_lock = threading.Lock()


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


# What the worker may see of the environment: how to find Python, programs and locales.
PASSED_ON = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "LC_CTYPE", "TESSDATA_PREFIX")


def clean_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in PASSED_ON if name in os.environ}


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.home = tempfile.mkdtemp(prefix="intake-worker-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "intake.extraction.worker", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**clean_environment(), "HOME": self.home, "TMPDIR": self.home},
            cwd=self.home,
            start_new_session=True,  # its own process group, killed as one
        )

    def call(self, func: Callable[..., Any], args: tuple, timeout: float) -> tuple[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        _write(self.proc.stdin, (func, args, timeout))
        return _read(self.proc.stdout.fileno(), time.monotonic() + timeout)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        """Let an idle worker end (it stops at end of input), then clear its directory."""
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        shutil.rmtree(self.home, ignore_errors=True)


def prestart(count: int, memory_mb: int) -> None:
    """Have `count` idle workers ready: they import the parsers while the caller goes on
    (the daemon at start), so the first message does not wait for a process to start."""
    with _idle_lock:
        missing = count - sum(w.memory_mb == memory_mb for w in _idle)
        _idle.extend(_Worker(memory_mb) for _ in range(missing))


@atexit.register
def _close_idle() -> None:
    with _idle_lock:
        idle = list(_idle)
        _idle.clear()
    for worker in idle:
        worker.close()


def _take(memory_mb: int) -> _Worker:
    with _idle_lock:
        ready = [w for w in _idle if w.memory_mb == memory_mb]
        for worker in ready:
            _idle.remove(worker)
            if worker.proc.poll() is None:
                return worker
            worker.kill()
    return _Worker(memory_mb)


def run_isolated(func: Callable[..., Any], *args: Any, timeout: float, memory_mb: int) -> Any:
    """Return `func(*args)` computed in a worker, or raise ExtractionError on error/timeout.

    `func` and its arguments must be picklable (a module-level function and plain data).
    """
    worker = _take(memory_mb)
    try:
        status, value = worker.call(func, args, timeout)
    except TimeoutError:
        worker.kill()
        raise ExtractionError(f"gave up after {timeout:g}s") from None
    except (EOFError, OSError, pickle.UnpicklingError, struct.error):
        worker.kill()
        raise ExtractionError("extractor process died") from None
    except BaseException:  # a time limit around the call interrupted it: its answer is lost
        worker.kill()
        raise
    if status == "fatal":
        worker.kill()
    else:
        with _idle_lock:
            _idle.append(worker)
    if status != "ok":
        raise ExtractionError(value)
    return value


REPEAT = 0.1  # seconds between alarms once a time limit has passed


class TimeLimit(Exception):
    """One step inside the worker ran out of its time (see `time_limit`)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimit in the block after `seconds` of wall time (SIGALRM: main thread of
    the worker only). Pure-Python parsers such as pdfminer stop at their next bytecode;
    the caller's kill after the whole call's timeout is the backstop for the rest. The
    alarm repeats every REPEAT seconds until the block ends: one that lands in a `__del__`
    or a gc callback is printed and ignored by Python, and would otherwise be lost."""
    if seconds <= 0:
        raise TimeLimit

    def expired(_signum: int, _frame: object) -> None:
        raise TimeLimit

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Deadline:
    """When the whole of one message's work must be done (its work budget)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def limit(self, seconds: float) -> contextlib.AbstractContextManager[None]:
        """`time_limit` for one step: its own limit, or what is left of the budget."""
        return time_limit(min(seconds, self.remaining()))


def _limit_cpu(seconds: float) -> None:
    """At most `seconds` more CPU time for this request (the soft limit is cumulative for
    the process, so it moves with each request; SIGXCPU ends a worker that spins past it)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(spent + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _warm_up() -> None:
    """Import the parsers before the first request arrives (a worker is started ahead)."""
    import docx  # noqa: F401
    import mailparser  # noqa: F401
    import pdfminer.layout
    import pdfminer.pdfinterp  # noqa: F401
    import pypdfium2  # noqa: F401


def _serve(memory_mb: int) -> None:
    """Worker loop: one (func, args, seconds) request in, one (status, value) answer out."""
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _warm_up()
    requests = sys.stdin.buffer.fileno()
    # Answers go to a private copy of stdout; anything a parser prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    while True:
        try:
            func, args, seconds = _read(requests, None)
        except EOFError:
            return
        _limit_cpu(seconds)
        try:
            answer: tuple[str, Any] = ("ok", func(*args))
        except MemoryError:
            answer = ("fatal", "ran out of memory")
        except TimeLimit:
            answer = ("error", f"gave up after {seconds:g}s")
        except Exception as exc:  # the worker reports every failure as data
            answer = ("error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            _write(answers, answer)
        except (pickle.PicklingError, TypeError) as exc:
            _write(answers, ("error", f"unpicklable result: {exc}"))


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
