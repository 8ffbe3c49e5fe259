"""The CLI's edge: every number option is finite and in range, and a usage error is one line.

Most cases call ``tinynas.cli.main`` in this process (parsing fails before any command runs);
a few run the real ``tinynas`` to prove the same line comes out of a process. Every case also
names a board, run or file that does not exist, so that an option that is no longer checked
fails fast on that instead of starting a search or an emulator.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable

import click
import pytest

from tinynas.cli._options import NON_NEGATIVE, POSITIVE, SEED, FiniteFloat
from tinynas.testing.cli import assert_one_line_error

RunCli = Callable[..., subprocess.CompletedProcess[str]]

SEARCH = ("search", "--device", "no-such-board")
REFINE = ("refine", "no-such-run")
EMULATE = ("emulate", "no-such-board")
PROFILE = ("profile", "no-such.tflite", "--emulate", "no-such-board")
CALIBRATE = ("calibrate", "no-such.json", "--device", "no-such-board")
PROXIES = ("proxies", "validate", "--dataset", "no-such-data", "--device", "no-such-board")
SAMPLE = ("arch", "sample", "--device", "no-such-board")
CONVERT = ("arch", "convert", "no-such.json", "--out", "no-such-dir/x.tflite")
EXPORT = ("export",)

SEED_RANGE = "0<=x<=4294967295"
BIG = "12345678901234567890"  # a 20-digit seed

BAD_NUMBERS = [
    # search
    (SEARCH, "--epochs", "nan", "greater than 0"),
    (SEARCH, "--epochs", "inf", "greater than 0"),
    (SEARCH, "--epochs", "0", "greater than 0"),
    (SEARCH, "--epochs", "-1", "greater than 0"),
    (SEARCH, "--epochs", "1e400", "greater than 0"),
    (SEARCH, "--halving-epochs", "nan", "greater than 0"),
    (SEARCH, "--max-latency", "nan", "greater than 0"),
    (SEARCH, "--max-latency", "-5", "greater than 0"),
    (SEARCH, "--seed", "-1", SEED_RANGE),
    (SEARCH, "--seed", BIG, SEED_RANGE),
    (SEARCH, "--candidates", "0", "x>=1"),
    # refine
    (REFINE, "--epochs", "nan", "greater than 0"),
    (REFINE, "--retrain-epochs", "nan", "greater than 0"),
    (REFINE, "--retrain-epochs", "0", "greater than 0"),
    (REFINE, "--lambda", "-1", "greater than or equal to 0"),
    (REFINE, "--beta", "inf", "greater than or equal to 0"),
    (REFINE, "--mu", "nan", "greater than or equal to 0"),
    (REFINE, "--seed", "4294967296", SEED_RANGE),
    (REFINE, "--candidate", "0", "1<=x<="),
    (REFINE, "--candidate", "1" + "0" * 30, "1<=x<="),
    # emulate: --tcp 0 picks a free port
    (EMULATE, "--tcp", "99999", "0<=x<=65535"),
    (EMULATE, "--tcp", "-1", "0<=x<=65535"),
    (EMULATE, "--jitter", "nan", "greater than or equal to 0"),
    (EMULATE, "--jitter", "-1", "greater than or equal to 0"),
    (EMULATE, "--baud", "-5", "1<=x<="),
    (EMULATE, "--baud", "0", "1<=x<="),
    (EMULATE, "--seed", "-1", SEED_RANGE),
    (EMULATE, "--chunk-bytes", "70000", "1<=x<=65535"),
    # profile
    (PROFILE, "--reply-timeout", "nan", "greater than 0 and less than or equal to 3600"),
    (PROFILE, "--reply-timeout", "4000", "less than or equal to 3600"),
    (PROFILE, "--infer-timeout", "inf", "less than or equal to 86400"),
    (PROFILE, "--infer-timeout", "-1", "greater than 0"),
    (PROFILE, "--runs", "0", "1<=x<=10000"),
    (PROFILE, "--warmup", "-1", "0<=x<=10000"),
    (PROFILE, "--seed", "0", "1<=x<=4294967295"),
    (PROFILE, "--baud", BIG, "1<=x<=2147483647"),
    (PROFILE, "--candidate", "-1", "1<=x<="),
    # calibrate, proxies validate, arch, export
    (CALIBRATE, "--prior-width", "nan", "greater than 0"),
    (CALIBRATE, "--prior-width", "0", "greater than 0"),
    (PROXIES, "--epochs", "nan", "greater than 0"),
    (PROXIES, "--max-latency", "-5", "greater than 0"),
    (PROXIES, "--seed", "-1", SEED_RANGE),
    (PROXIES, "--samples", "1", "x>=2"),
    (SAMPLE, "--max-tries", "0", "x>=1"),
    (SAMPLE, "--classes", BIG, "2<=x<=10000"),
    (SAMPLE, "--seed", "-1", SEED_RANGE),
    (CONVERT, "--seed", BIG, SEED_RANGE),
    (EXPORT, "--float-accuracy", "nan", "from 0 to 1"),
    (EXPORT, "--float-accuracy", "1.5", "from 0 to 1"),
]


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """``tinynas ARGS`` through ``tinynas.cli.main`` in this process: exit status and output."""
    from tinynas.cli import main

    code: int | str | None = 0
    try:
        main(list(args))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, int(code or 0), out, err)


@pytest.mark.parametrize("command, option, value, accepted", BAD_NUMBERS,
                         ids=[f"{c[0]}-{o}={v[:12]}" for c, o, v, _ in BAD_NUMBERS])  # fmt: skip
def test_bad_number_is_one_line_naming_option_value_and_range(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], option: str, value: str,
    accepted: str,
) -> None:  # fmt: skip
    result = run_main(capsys, *command, option, value)
    line = assert_one_line_error(result, f"{option}: {value}", accepted, "--help'",
                                 empty_stdout=True)  # fmt: skip
    assert "not found" not in line  # refused while parsing, before the command looked anything up


@pytest.mark.parametrize("args, fragments", [
    (("search", "--bogus"), ("no such option '--bogus'", "(see 'tinynas search --help')")),
    (("search", "--epochs", "1"), ("missing option '--device'", "tinynas search --help")),
    (("search", "--device", "stm32", "--strategy", "x"), ("--strategy: 'x' is not one of",)),
    (("search", "--device"), ("--device", "requires an argument")),
    (("emulate",), ("missing argument 'DEVICE'", "tinynas emulate --help")),
    (("arch", "sample", "--seed", "x"), ("--seed: 'x' is not a valid integer",
                                         "tinynas arch sample --help")),
    (("no-such-command",), ("no such command 'no-such-command'", "(see 'tinynas --help')")),
])  # fmt: skip
def test_usage_error_is_one_line(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                 fragments: tuple[str, ...]) -> None:  # fmt: skip
    assert_one_line_error(run_main(capsys, *args), *fragments, empty_stdout=True)


def test_help_and_version_still_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (("--help",), ("search", "--help"), ("emulate", "--help"), ("--version",)):
        result = run_main(capsys, *args)
        assert result.returncode == 0 and result.stderr == "", (args, result.stderr)
        assert result.stdout.strip(), args
    shown = " ".join(run_main(capsys, "search", "--help").stdout.split())
    assert "[default: 30m]" in shown and "10.0 with --time-budget none]. [x>0]" in shown


def test_good_numbers_still_parse(capsys: pytest.CaptureFixture[str]) -> None:
    # every number is in range: the command runs and stops at the board that does not exist
    result = run_main(capsys, *SEARCH, "--epochs", "0.5", "--halving-epochs", "1e-3",
                      "--max-latency", "12.5", "--seed", "4294967295")  # fmt: skip
    assert_one_line_error(result, "no-such-board")
    result = run_main(capsys, *EMULATE, "--tcp", "0", "--jitter", "0", "--baud", "115200")
    assert_one_line_error(result, "no-such-board")


def test_finite_float_accepts_in_range_values() -> None:
    assert POSITIVE.convert("0.5", None, None) == 0.5
    assert POSITIVE.convert(10.0, None, None) == 10.0  # a default arrives as a float
    assert NON_NEGATIVE.convert(" 0 ", None, None) == 0.0
    assert FiniteFloat(0, 1).convert("1", None, None) == 1.0
    assert FiniteFloat().convert("-1e300", None, None) == -1e300
    assert SEED.convert("4294967295", None, None) == 2**32 - 1


@pytest.mark.parametrize("kind, value, message", [
    (POSITIVE, "nan", "nan is not a finite number greater than 0"),
    (POSITIVE, "0", "0 is not a finite number greater than 0"),
    (POSITIVE, math.inf, "inf is not a finite number greater than 0"),
    (POSITIVE, "1e400", "1e400 is not a finite number greater than 0"),
    (POSITIVE, "ten", "'ten' is not a finite number greater than 0"),
    (NON_NEGATIVE, "-0.5", "-0.5 is not a finite number greater than or equal to 0"),
    (FiniteFloat(0, 1), "1.01", "1.01 is not a finite number from 0 to 1"),
    (FiniteFloat(0, 60, min_open=True), "61",
     "61 is not a finite number greater than 0 and less than or equal to 60"),
    (FiniteFloat(max=1, max_open=True), "1", "1 is not a finite number less than 1"),
    (FiniteFloat(), "-inf", "-inf is not a finite number"),
])  # fmt: skip
def test_finite_float_refuses_with_the_range(kind: FiniteFloat, value: object,
                                             message: str) -> None:  # fmt: skip
    with pytest.raises(click.BadParameter) as caught:
        kind.convert(value, None, None)
    assert caught.value.message == message


# ---- the same lines from real processes --------------------------------------------------------


@pytest.mark.parametrize("args, fragments", [
    (("search", "--device", "stm32", "--epochs", "nan"),
     ("error: --epochs: nan is not a finite number greater than 0 "
      "(see 'tinynas search --help')",)),
    (("emulate", "stm32", "--tcp", "99999"), ("--tcp: 99999", "0<=x<=65535")),
    (("search", "--device", "stm32", "--bogus"), ("no such option '--bogus'",)),
    (("search",), ("missing option '--device'", "(see 'tinynas search --help')")),
])  # fmt: skip
def test_real_process_prints_one_line(run_cli: RunCli, args: tuple[str, ...],
                                      fragments: tuple[str, ...]) -> None:  # fmt: skip
    assert_one_line_error(run_cli(*args), *fragments, empty_stdout=True)


def test_real_process_version_exits_0(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and "tinynas" in result.stdout and result.stderr == ""
