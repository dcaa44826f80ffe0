"""How long extraction of one typical application takes, and where the time goes.

Run with `make bench`. Prints medians over N runs and ratios measured in this one run
(so they hold on any machine): the whole reading stage in its worker, the MIME parse,
and the two PDF backends on the same resume (PDFium, the default, against pdfminer.six,
its fallback).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.extraction.extract import read_isolated
from intake.extraction.pdf import pdfium_text, pdfminer_text
from intake.mail.parse import parse_message
from tests.builders import make_mail, make_pdf

RUNS = 30
LINES = [
    "Ada Lovelace - Research Engineer",
    "Education: M.S. Computer Science, Stanford University (expected 2019)",
    "Coursework: Machine Learning, Algorithms, Computational Neuroscience",
    *[f"Experience item {n}: streaming anomaly detection in Python and C++" for n in range(35)],
]
BODY = (
    "Dear Numenta,\n\nI am a US citizen and a PhD student at Stanford. I would like to apply for "
    "the Research Internship for Winter 2017/2018, 3 to 4 months.\n\nCode: "
    "https://github.com/ada\n\nBest,\nAda\n"
)


def median_ms(func, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    pdf = make_pdf(LINES, link="https://github.com/ada", pages=2)
    raw = make_mail(BODY, attachments=[("Ada_Lovelace_Resume.pdf", "application/pdf", pdf)])
    read_isolated(raw)  # start a worker once, as a running daemon has
    whole = median_ms(lambda: read_isolated(raw))
    parse_only = median_ms(lambda: parse_message(raw))
    pdfium = median_ms(lambda: pdfium_text(pdf))
    pdfminer = median_ms(lambda: pdfminer_text(pdf))
    print(f"typical application (2-page PDF resume, {len(raw) // 1024} KiB), median of {RUNS}:")
    print(f"  read in the worker (PDFium in its own):{whole:7.1f} ms")
    print(f"  MIME parse alone:                       {parse_only:7.1f} ms")
    print(f"  PDFium in-process alone:                {pdfium:7.1f} ms")
    print(f"  pdfminer.six in-process alone:          {pdfminer:7.1f} ms")
    print(f"ratio pdfminer/PDFium: {pdfminer / pdfium:.1f}")


if __name__ == "__main__":
    main()
