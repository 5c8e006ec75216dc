"""The ``nvr`` command line: exit codes and the messages a user reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def nvr(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nvr", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_check_config_accepts_the_example():
    result = nvr("check-config", str(ROOT / "config" / "nvr.example.yaml"))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_config_lists_every_problem_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "storage:\n  path: /tmp/x\ncameras:\n  - id: a\n    main: rtsp://u:secret@h/m\n"
        "    record:\n      mode: sometimes\n      pre_roll_s: 99\n    colour: red\n"
    )
    result = nvr("check-config", str(bad))
    assert result.returncode == 2
    err = result.stderr
    assert "cameras[0].record.mode (line 7)" in err
    assert "cameras[0].record.pre_roll_s (line 8)" in err
    assert "cameras[0].colour (line 9): unknown key" in err
    assert "secret" not in err and "Traceback" not in err


def test_run_reports_an_unusable_storage_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = tmp_path / "nvr.yaml"
    config.write_text(f"storage:\n  path: {blocker}/rec\napi:\n  port: 0\ncameras: []\n")
    result = nvr("run", "-c", str(config))
    assert result.returncode == 2
    assert "storage.path" in result.stderr and "Traceback" not in result.stderr


def test_run_reports_a_missing_config_file(tmp_path):
    result = nvr("run", "-c", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2
    assert "absent.yaml" in result.stderr and "Traceback" not in result.stderr


def test_version():
    result = nvr("--version")
    assert result.returncode == 0 and result.stdout.startswith("nvr 0."), result.stdout


def test_console_refuses_an_address_that_is_no_engine_address():
    for bad in ("htp:/x", "https://127.0.0.1:8765", "127.0.0.1", "127.0.0.1:8765/api"):
        result = nvr("console", "--api", bad, env={"PATH": "/usr/bin:/bin", "DISPLAY": ""})
        assert result.returncode == 2, (bad, result.stderr)
        assert "is not an engine address: give HOST:PORT or http://HOST:PORT" in result.stderr


def test_every_subcommand_explains_itself():
    for command in (
        "run",
        "check-config",
        "demo",
        "console",
        "export",
        "backup",
        "restore",
        "bench",
    ):
        result = nvr(command, "--help")
        assert result.returncode == 0
        description = result.stdout.split("\n\n")[1]
        assert len(description) > 20 and "``" not in description, (command, description)


def test_console_refuses_a_window_position_that_is_no_position():
    for bad in ("abc", "1920", "1,2,3", "99999,0", "\uff11\uff10\uff10,50", "1_000,5", " 1, 2"):
        result = nvr("console", "--api", "127.0.0.1:1", "--position", bad, env={"DISPLAY": ""})
        assert result.returncode == 2 and "--position" in result.stderr, (bad, result.stderr)
