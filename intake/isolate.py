"""Run an untrusted-input function in a child process with a time and memory limit.

A crafted PDF can make pdfminer loop for minutes or eat gigabytes; a child process is
the only boundary that can be enforced from outside. The child is forked from a
forkserver, so starting one costs milliseconds and inherits no threads or sockets.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from typing import Any

from intake.errors import ExtractionError

_CONTEXT = multiprocessing.get_context("forkserver")
# Preloading the parsers makes each child start in milliseconds; naming modules here
# also stops the forkserver from re-importing the caller's `__main__` script.
_CONTEXT.set_forkserver_preload(["intake.documents", "pdfminer.pdfinterp", "docx"])


def _child(conn: Any, memory_bytes: int, func: Callable[..., Any], args: tuple) -> None:
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        conn.send(("ok", func(*args)))
    except MemoryError:
        conn.send(("error", "ran out of memory"))
    except Exception as exc:  # the child reports every failure as data
        conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))
    finally:
        conn.close()


def run_isolated(
    func: Callable[..., Any], *args: Any, timeout: float, memory_mb: int = 1024
) -> Any:
    """Return `func(*args)` computed in a child, or raise ExtractionError on error/timeout.

    `func` and its arguments must be picklable (a module-level function and plain data).
    """
    parent, child = _CONTEXT.Pipe(duplex=False)
    proc = _CONTEXT.Process(target=_child, args=(child, memory_mb * 2**20, func, args))
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise ExtractionError(f"gave up after {timeout:g}s")
        status, value = parent.recv()
    except EOFError:
        raise ExtractionError("extractor process died") from None
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if status != "ok":
        raise ExtractionError(value)
    return value
