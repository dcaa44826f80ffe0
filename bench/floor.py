"""The machine's floor for reading applications: what any reader of this mail must do.

Raw `imaplib` UID FETCH in batches of 100, the standard library's MIME parser, and the
fastest text extraction there is (PDFium for PDFs, python-docx for DOCX), on `--procs`
processes, each with its share of the UIDs; no database, no rules, no isolation. With
`--dir`, the messages are read from files instead (the floor without the fetch, for
`reprocess`). Run as a child of bench_throughput.py, which measures it with wait4.
"""

from __future__ import annotations

import argparse
import email
import imaplib
import io
import multiprocessing
from email import policy
from pathlib import Path

BATCH = 100


def read(raw: bytes) -> int:
    """Characters of text in a message and its PDF and DOCX attachments."""
    import docx
    import pypdfium2

    msg = email.message_from_bytes(raw, policy=policy.default)
    chars = 0
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # hostile part: nothing to read, as for any reader
            continue
        try:
            if b"%PDF-" in data[:1024]:
                pdf = pypdfium2.PdfDocument(data)
                chars += sum(len(page.get_textpage().get_text_range()) for page in pdf)
            elif data.startswith(b"PK\x03\x04"):
                chars += sum(len(p.text) for p in docx.Document(io.BytesIO(data)).paragraphs)
            elif part.get_content_maintype() == "text":
                chars += len(part.get_content())
        except Exception:  # a damaged document: any reader gives up on it
            continue
    return chars


def fetch_and_read(args: tuple[int, str, str, str, list[int]]) -> int:
    port, user, password, folder, uids = args
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(user, password)
    client.select(folder, readonly=True)
    chars = 0
    for start in range(0, len(uids), BATCH):
        wanted = ",".join(map(str, uids[start : start + BATCH]))
        _, data = client.uid("FETCH", wanted, "(BODY.PEEK[])")
        chars += sum(read(item[1]) for item in data if isinstance(item, tuple))
    client.logout()
    return chars


def read_files(paths: list[str]) -> int:
    return sum(read(Path(path).read_bytes()) for path in paths)


def all_uids(port: int, user: str, password: str, folder: str) -> list[int]:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(user, password)
    client.select(folder, readonly=True)
    _, data = client.uid("SEARCH", "ALL")
    client.logout()
    return [int(uid) for uid in data[0].split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--port", type=int)
    parser.add_argument("--user", default="careers")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--folder", default="INBOX")
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    with multiprocessing.get_context("fork").Pool(args.procs) as pool:
        if args.dir:
            paths = sorted(str(p) for p in args.dir.glob("*.eml"))
            chars = sum(pool.map(read_files, [paths[n :: args.procs] for n in range(args.procs)]))
        else:
            uids = all_uids(args.port, args.user, args.password, args.folder)
            shares = [
                (args.port, args.user, args.password, args.folder, uids[n :: args.procs])
                for n in range(args.procs)
            ]
            chars = sum(pool.map(fetch_and_read, shares))
    print(chars)


if __name__ == "__main__":
    main()
