"""The package works installed from a wheel, outside the checkout: the rules, templates,
sample mail and data it ships are found, `intake init` writes a working starting point,
and the demo and `intake parse` run there (acceptance of issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "clients" / "gmail--fwd-employee-referral.eml"


def run(*args: str | Path, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def test_an_installed_wheel_runs_init_demo_and_parse_outside_the_checkout(tmp_path):
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        tmp_path / "dist",
        ROOT,
        cwd=tmp_path,
    )
    [wheel] = (tmp_path / "dist").glob("intake-*.whl")
    run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)
    bin_dir = tmp_path / "venv" / "bin"
    run(
        bin_dir / "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        f"{wheel}[demo]",
        cwd=tmp_path,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTAKE_", "VIRTUAL_ENV"))}
    intake = bin_dir / "intake"

    written = run(intake, "init", "site", cwd=work, env=env).stdout
    assert "wrote site/config.toml" in written
    assert (work / "site" / "rules" / "numenta-research-internship.toml").is_file()
    assert (work / "site" / "templates" / "default" / "received_unrouted.txt.j2").is_file()
    checked = run(intake, "--config", "site/config.toml", "rules", "check", cwd=work, env=env)
    assert "5 postings OK" in checked.stdout

    parsed = run(intake, "parse", SAMPLE, "--mailbox", "careers", cwd=work, env=env).stdout
    assert "applicant: Kenji Watanabe <kenji.watanabe.ml@gmail.com>" in parsed
    assert "numenta-ml-engineer (complete)" in parsed  # the packaged rules, no config

    demo = run(intake, "demo", cwd=work, env=env).stdout
    assert "13 applications" in demo or "Digest of" in demo
    assert list((work / "intake-demo" / "digests").glob("digest-*.html"))
    assert not (ROOT / "intake-demo").exists()
