"""The bad-input contract of every command, as one assertion for the tests."""

from __future__ import annotations

import subprocess


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str,
                          empty_stdout: bool = False) -> str:
    """Asserts exit status 2, no traceback, and exactly one ``error: ...`` line on stderr that
    holds every fragment (and nothing on stdout when `empty_stdout`); returns the line."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    if empty_stdout:
        assert result.stdout == "", result.stdout
    return lines[0]
