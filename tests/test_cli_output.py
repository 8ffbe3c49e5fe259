"""Where commands write: an output that cannot be created or written is one line before the
work starts; stdout on a full device is one line, into a closed pipe a quiet exit."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import run_cli, tinynas_argv

from tinynas.cli import _output
from tinynas.export import ExportError, check_out_dir, export_model
from tinynas.space import sample
from tinynas.testing.cli import assert_one_line_error

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def run_main(capsys: pytest.CaptureFixture[str], *args: str | Path
             ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``tinynas ARGS`` in this process: no interpreter start-up."""
    from tinynas.cli import main

    argv = [str(a) for a in args]
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, out, err)


@pytest.fixture
def blocker(tmp_path: Path) -> Path:
    """A file where a folder would have to be created."""
    path = tmp_path / "a-file"
    path.write_text("mine\n")
    return path


@pytest.fixture
def arch_file(tmp_path: Path) -> Path:
    path = tmp_path / "arch.json"
    path.write_text(sample((8, 8, 1), 10, 0).to_json())
    return path


# ---- output folders and files, checked before the work ------------------------------------------


def test_each_output_option_is_checked_before_the_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, blocker: Path, arch_file: Path
) -> None:
    np.savez(tmp_path / "data.npz", x=np.zeros((2, 8, 8, 1), np.float32))
    model = tmp_path / "model.tflite"  # never read: the output is refused first
    commands = [
        (("arch", "sample", "--out", blocker / "a.json", "--json"), "--out"),
        (("arch", "convert", arch_file, "--out", blocker / "m.tflite"), "--out"),
        (("calibrate", tmp_path / "m.json", "--device", "stm32", "--write", blocker / "dev"),
         "--write"),
        (("export", "--arch", arch_file, "--weights", tmp_path / "w.pt", "--data",
          tmp_path / "data.npz", "--out", blocker / "export"), "output folder"),
        (("check", model, "--device", "stm32", "--junit", blocker / "j.xml"), "--junit"),
        (("search", "--device", "stm32", "--dataset", "digits", "--out", blocker / "run"),
         "--out"),
        (("proxies", "validate", "--dataset", "digits", "--device", "stm32", "--out",
          blocker / "v"), "--out"),
    ]  # fmt: skip
    for args, option in commands:
        result = run_main(capsys, *args)
        line = assert_one_line_error(result, option, str(blocker), empty_stdout=True)
        assert "is a file" in line, line
    assert blocker.read_text() == "mine\n" and sorted(os.listdir(tmp_path)) == [
        "a-file", "arch.json", "data.npz"]  # fmt: skip


def test_a_folder_given_for_a_file_and_a_file_for_a_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, blocker: Path
) -> None:
    line = assert_one_line_error(run_main(capsys, "arch", "sample", "--out", tmp_path))
    assert "--out" in line and f"'{tmp_path}' is a directory" in line  # click's own check
    with pytest.raises(_output.OutputError, match=f"--out {tmp_path}: it is a folder, not a"):
        _output.check_out_file(tmp_path, "--out")
    line = assert_one_line_error(run_main(capsys, "calibrate", tmp_path / "m.json", "--device",
                                          "stm32", "--write", blocker))  # fmt: skip
    assert "--write" in line and f"'{blocker}' is a file" in line  # click's own check
    with pytest.raises(_output.OutputError, match=f"--write {blocker}: it is a file, not a"):
        _output.check_out_dir(blocker, "--write")


def test_a_folder_that_is_not_writable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    # the kernel's answer (os.access) for a read-only file system or a folder of another user
    monkeypatch.setattr(_output, "_writable", lambda folder: Path(folder) != read_only)
    line = assert_one_line_error(run_main(capsys, "arch", "sample", "--out",
                                          read_only / "x" / "a.json"))  # fmt: skip
    assert f"{read_only} is not writable" in line and "cannot be created" in line
    line = assert_one_line_error(run_main(capsys, "calibrate", tmp_path / "m.json", "--device",
                                          "stm32", "--write", read_only))  # fmt: skip
    assert f"--write {read_only}: the folder is not writable" in line


@pytest.mark.skipif(ROOT or sys.platform == "win32", reason="root writes anywhere")
def test_a_read_only_folder_for_real(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o500)
    try:
        line = assert_one_line_error(run_main(capsys, "arch", "sample", "--out",
                                              read_only / "a.json"))  # fmt: skip
        assert "not writable" in line
        with pytest.raises(ExportError, match="is not writable"):
            check_out_dir(read_only / "x")
    finally:
        read_only.chmod(0o700)


def test_export_model_checks_its_folder_before_converting(blocker: Path) -> None:
    arch = sample((8, 8, 1), 10, 0)
    with pytest.raises(ExportError, match=f"output folder '{blocker / 'out'}' cannot be created"):
        export_model(arch, net=None, out_dir=blocker / "out")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match=f"output folder '{blocker}' is a file"):
        check_out_dir(blocker)


def test_an_output_that_fails_while_written_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Path, data: str, encoding: str | None = None) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Path, "write_text", full)
    line = assert_one_line_error(run_main(capsys, "arch", "sample", "--out", tmp_path / "a.json"))
    assert "cannot write it (Input/output error)" in line


@pytest.mark.cli
def test_outputs_in_real_processes(tmp_path: Path, blocker: Path) -> None:
    result = run_cli("arch", "sample", "--out", blocker / "sub" / "a.json", cwd=tmp_path)
    assert_one_line_error(result, "--out", "is a file", empty_stdout=True)
    np.savez(tmp_path / "data.npz", x=np.zeros((2, 8, 8, 1), np.float32))
    result = run_cli("export", "--arch", tmp_path / "a.json", "--weights", tmp_path / "w.pt",
                     "--data", tmp_path / "data.npz", "--out", blocker / "x", cwd=tmp_path)
    assert_one_line_error(result, f"output folder '{blocker / 'x'}' cannot be created",
                          empty_stdout=True)  # fmt: skip


# ---- files that exist: never written over without --force -------------------------------------


def test_arch_sample_never_writes_over_a_file_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mine = tmp_path / "a.json"
    mine.write_text("my notes\n", encoding="utf-8")
    line = assert_one_line_error(run_main(capsys, "arch", "sample", "--out", mine))
    assert line == (f"error: --out: {mine} exists already; give another --out, or --force to "
                    "replace it")  # fmt: skip
    assert mine.read_text(encoding="utf-8") == "my notes\n"
    result = run_main(capsys, "arch", "sample", "--out", mine, "--force", "--json")
    assert result.returncode == 0, result.stderr
    written = json.loads(mine.read_text(encoding="utf-8"))
    assert written == json.loads(result.stdout)["architecture"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary left beside it


def test_a_failed_write_leaves_the_old_file_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "a.json"
    mine.write_text("kept\n", encoding="utf-8")

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    line = assert_one_line_error(run_main(capsys, "arch", "sample", "--out", mine, "--force"))
    assert "cannot write it (No space left on device)" in line
    assert mine.read_text(encoding="utf-8") == "kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_arch_convert_and_export_refuse_existing_files_before_the_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, arch_file: Path
) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(b"mine")
    line = assert_one_line_error(run_main(capsys, "arch", "convert", arch_file, "--out", model))
    assert f"--out: {model} exists already" in line and model.read_bytes() == b"mine"
    out = tmp_path / "firmware"
    out.mkdir()
    (out / "model.tflite").write_bytes(b"mine")
    (out / "model_card.json").write_text("{}", encoding="utf-8")
    line = assert_one_line_error(run_main(  # the weights do not exist: refused before loading
        capsys, "export", "--arch", arch_file, "--weights", tmp_path / "w.pt", "--data",
        tmp_path / "data.npz", "--out", out))  # fmt: skip
    assert line == (f"error: --out: {out / 'model.tflite'}, {out / 'model_card.json'} exist "
                    "already; give another --out, or --force to replace them")  # fmt: skip
    assert (out / "model.tflite").read_bytes() == b"mine"


def test_check_replaces_an_earlier_junit_report_but_no_other_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.xml"
    notes.write_text("<notes>mine</notes>\n", encoding="utf-8")
    line = assert_one_line_error(run_main(capsys, "check", tmp_path / "missing.tflite",
                                          "--device", "stm32", "--junit", notes))  # fmt: skip
    assert "it exists and is not a JUnit report, so it is not replaced" in line
    assert notes.read_text(encoding="utf-8") == "<notes>mine</notes>\n"
    empty = tmp_path / "tmp.xml"  # what mktemp makes for a CI script
    empty.write_bytes(b"")
    line = assert_one_line_error(run_main(capsys, "check", tmp_path / "missing.tflite",
                                          "--device", "stm32", "--junit", empty))  # fmt: skip
    assert "missing.tflite" in line and "JUnit" not in line
    report = tmp_path / "gate.xml"
    report.write_text('<?xml version="1.0"?>\n<testsuites tests="0"/>\n', encoding="utf-8")
    line = assert_one_line_error(run_main(capsys, "check", tmp_path / "missing.tflite",
                                          "--device", "stm32", "--junit", report))  # fmt: skip
    assert "missing.tflite" in line and "JUnit" not in line  # past the output check


# ---- stdout that cannot be written ------------------------------------------------------------


class _Failing(io.RawIOBase):
    """A stdout whose writes fail with ``error`` (until it is set to None)."""

    def __init__(self, error: OSError) -> None:
        self.error: OSError | None = error

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.error is not None:
            raise self.error
        return len(data)


@pytest.mark.parametrize(
    ("error", "code", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), 2,
         "error: cannot write the output: No space left on device; free some space"),
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), 1, ""),
    ],
    ids=["full", "closed-pipe"],
)
def test_stdout_that_cannot_be_written_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, error: OSError,
    code: int, expected: str,
) -> None:  # fmt: skip
    from tinynas.cli import main

    failing = _Failing(error)
    stdout, stderr = io.TextIOWrapper(io.BufferedWriter(failing)), io.StringIO()
    with capsys.disabled(), monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        with pytest.raises(SystemExit) as caught:
            main(["devices", "--json"])
    failing.error = None  # what is still buffered goes nowhere, quietly
    stdout.close()
    assert caught.value.code == code
    assert stderr.getvalue().strip() == expected or stderr.getvalue().startswith(expected)
    assert "Traceback" not in stderr.getvalue()


@pytest.mark.cli
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [("devices", "--json"), ("devices",)])
def test_stdout_on_a_full_device(tmp_path: Path, args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(tinynas_argv(*args), stdout=full, stderr=subprocess.PIPE,
                                text=True, cwd=tmp_path, timeout=120, check=False)  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot write the output: No space left on device")


@pytest.mark.cli
@pytest.mark.parametrize("args", [("devices", "--json"), ("devices",), ("arch", "sample")])
def test_stdout_into_a_closed_pipe_is_quiet(tmp_path: Path, args: tuple[str, ...]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head -c1` does once it has its byte
    try:
        result = subprocess.run(tinynas_argv(*args), stdout=write_end, stderr=subprocess.PIPE,
                                text=True, cwd=tmp_path, timeout=120, check=False)  # fmt: skip
    finally:
        os.close(write_end)
    assert result.returncode == 1 and result.stderr == "", result.stderr


def test_json_still_reaches_a_working_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, "devices", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)
