"""The grading-speed measures (issue 7): a lazy CLI, the cached bubblewrap probe, and the benchmark."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import cli
from autograder.cli import build_parser, main
from autograder.engine import isolation

ROOT = Path(__file__).resolve().parent.parent


# -- the CLI imports only the verb it runs --------------------------------------------------------
def test_grade_verb_does_not_import_other_verbs() -> None:
    code = (
        "import sys\n"
        "from autograder.cli import build_parser\n"
        "build_parser(only='grade').parse_args(['grade', 'x'])\n"
        "verbs = [m for m in sys.modules if m.startswith('autograder.') and m.endswith('.cli') and m.count('.') == 2]\n"
        "print(sorted(verbs))\n"
        "print('nbformat' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    modules, nbformat_loaded = out.stdout.strip().splitlines()
    assert modules == "['autograder.grade.cli']"
    assert nbformat_loaded == "False"  # nbformat comes with `assign`, and costs ~0.2 s


def test_unknown_verb_lists_every_installed_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-verb"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'no-such-verb'" in err
    assert "'grade'" in err and "'demo'" in err


def test_full_parser_has_every_installed_verb() -> None:
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"grade", "demo"} <= set(choices)
    assert set(build_parser(only="grade")._subparsers._group_actions[0].choices) == {"grade"}  # type: ignore


def test_console_run_skips_the_final_collection_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fake_verb.py").write_text(
        "HELP = 'a fake verb'\ndef add_arguments(parser):\n    pass\ndef run(args):\n    return 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "fake", "fake_verb")
    before = gc.get_freeze_count()
    try:
        assert main(["fake"]) == 3
        assert gc.get_freeze_count() == before  # called from Python (tests, other tools): nothing frozen
        monkeypatch.setattr(sys, "argv", ["autograder", "fake"])
        assert main() == 3
        assert gc.get_freeze_count() > before  # the console script is about to exit
    finally:
        gc.unfreeze()


# -- the bubblewrap probe is cached on disk, successes only ---------------------------------------
@pytest.fixture
def probe_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A private cache folder, a fake bwrap file, and a probe that records its calls."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AUTOGRADER_PROBE_CACHE", raising=False)
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\n")
    calls: list[str] = []
    answer = {"ok": True}

    def probe(bwrap: str) -> bool:
        calls.append(bwrap)
        return answer["ok"]

    monkeypatch.setattr(isolation, "_probe_bwrap", probe)
    isolation._bwrap_works.cache_clear()
    yield fake, calls, answer
    isolation._bwrap_works.cache_clear()


def test_probe_success_is_cached_across_processes(probe_env) -> None:
    fake, calls, _ = probe_env
    assert isolation._bwrap_works(str(fake)) is True
    isolation._bwrap_works.cache_clear()  # as in a new grader process
    assert isolation._bwrap_works(str(fake)) is True
    assert calls == [str(fake)]
    assert len(list(isolation.probe_cache_folder().glob("bwrap-ok-*"))) == 1


def test_probe_failure_is_not_cached(probe_env) -> None:
    fake, calls, answer = probe_env
    answer["ok"] = False
    assert isolation._bwrap_works(str(fake)) is False
    isolation._bwrap_works.cache_clear()
    answer["ok"] = True
    assert isolation._bwrap_works(str(fake)) is True  # probed again, so a fixed machine gets bwrap
    assert len(calls) == 2


def test_probe_cache_expires_and_follows_the_bwrap_file(probe_env) -> None:
    fake, calls, _ = probe_env
    isolation._bwrap_works(str(fake))
    (marker,) = isolation.probe_cache_folder().glob("bwrap-ok-*")
    old = time.time() - isolation.PROBE_CACHE_SECONDS - 60
    os.utime(marker, (old, old))
    isolation._bwrap_works.cache_clear()
    isolation._bwrap_works(str(fake))
    assert len(calls) == 2  # expired: probed again
    fake.write_text("#!/bin/sh\n# a new bubblewrap\n")  # size and mtime change
    isolation._bwrap_works.cache_clear()
    isolation._bwrap_works(str(fake))
    assert len(calls) == 3
    assert len(list(isolation.probe_cache_folder().glob("bwrap-ok-*"))) == 2


def test_probe_cache_can_be_turned_off_and_forgotten(probe_env, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, calls, _ = probe_env
    isolation._bwrap_works(str(fake))
    isolation.forget_bwrap_probe()
    assert list(isolation.probe_cache_folder().glob("bwrap-ok-*")) == []
    monkeypatch.setenv("AUTOGRADER_PROBE_CACHE", "0")
    isolation._bwrap_works(str(fake))
    isolation._bwrap_works.cache_clear()
    isolation._bwrap_works(str(fake))
    assert len(calls) == 3
    assert list(isolation.probe_cache_folder().glob("bwrap-ok-*")) == []


# -- the benchmark script runs and its figures are plausible --------------------------------------
@pytest.mark.slow
def test_benchmark_profile_and_memory_sections_run() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_grading.py"), "--only", "memory,profile", "--repeats", "1"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert out.returncode in (0, 1), out.stderr
    lines = out.stdout.splitlines()

    def figure(prefix: str) -> float:
        line = next(line for line in lines if line.startswith(prefix))
        return float(line[len(prefix):].split()[0])

    child = figure("sandbox child (python + numpy + student code)")
    grader = figure("grader (autograder grade, in-process)")
    assert 10.0 < child < 1000.0 and 10.0 < grader < 1000.0  # MB: numpy alone is ~25 MB
    whole = figure("whole process (wall)")
    start = figure("child start (python + numpy, to 'ready')")
    assert 0.0 < start < whole < 60.0
