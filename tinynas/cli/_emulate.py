"""``tinynas emulate``: an emulated board speaking the profiler protocol on a pty or TCP port."""

from __future__ import annotations

from pathlib import Path

import click

from tinynas.cli._options import BAUD, NON_NEGATIVE, SEED, TCP_PORT, devices_dir_option


@click.command("emulate")
@click.argument("device_name", metavar="DEVICE")
@click.option("--pty", "use_pty", is_flag=True, help="Serve on a new pseudo-terminal (default).")
@click.option("--tcp", "tcp_port", type=TCP_PORT, default=None, metavar="PORT",
              help="Serve on 127.0.0.1:PORT (socket://127.0.0.1:PORT); 0 picks a free port.")
@click.option("--baud", type=BAUD, default=None, help="Pace bytes at this baud rate, like a UART.")
@click.option("--seed", default=1, show_default=True, type=SEED,
              help="Seed of jitter and counters.")
@click.option("--jitter", default=0.005, show_default=True, type=NON_NEGATIVE,
              help="Relative jitter of op cycles.")
@click.option("--chunk-bytes", default=4096, show_default=True, type=click.IntRange(1, 0xFFFF),
              help="Largest upload frame payload it accepts.")
@click.option("--fault", "faults", multiple=True, metavar="SPEC",
              help="Inject a fault (PROTOCOL.md section 9); also $TINYNAS_EMULATOR_FAULTS.")
@click.option("--slot-model", type=click.Path(path_type=Path), default=None,
              help="A .tflite in its flash model slot, as 'tinynas flash --model' writes it.")
@click.option("--mlperf", is_flag=True,
              help="Act as MLPerf Tiny runner firmware (EEMBC commands only) with the "
                   "--slot-model model compiled in.")
@click.option("--qemu", "firmware", type=click.Path(path_type=Path), default=None,
              metavar="FIRMWARE.elf",
              help="Run this profiler firmware on QEMU instead; DEVICE is then the QEMU machine "
                   "(mps2-an386, mps2-an500, netduinoplus2), served on --tcp.")
@devices_dir_option
def emulate(device_name: str, use_pty: bool, tcp_port: int | None, baud: int | None, seed: int,
            jitter: float, chunk_bytes: int, faults: tuple[str, ...], slot_model: Path | None,
            mlperf: bool, firmware: Path | None, devices_dir: Path | None) -> None:  # fmt: skip
    """Run an emulated DEVICE until Ctrl-C: real TFLM outputs and arena, emulated cycles.

    With --qemu, run a real profiler firmware on QEMU's emulated Cortex-M instead (instruction
    counts, not cycles). Prints the port to open ('tinynas profile MODEL --port PORT') on its
    first line.
    """
    from tinynas.devices import get_device
    from tinynas.errors import ProfilerError
    from tinynas.profile import EmulatedBoard, Faults, slot_plan

    if use_pty and tcp_port is not None:
        raise ProfilerError("give --pty or --tcp PORT, not both")
    if firmware is not None:
        options = (("--pty", use_pty), ("--baud", baud), ("--fault", faults),
                   ("--slot-model", slot_model), ("--mlperf", mlperf))
        given = [name for name, value in options if value]
        if given:
            verb = "does" if len(given) == 1 else "do"
            raise ProfilerError(f"{', '.join(given)} {verb} not apply to --qemu (QEMU serves the "
                                "firmware's UART on --tcp; the firmware decides the rest)")
        _serve_qemu(device_name, firmware, tcp_port or 0)
        return
    device = get_device(device_name, devices_dir)
    fault_set = Faults.parse([*Faults.env_specs(), *faults])
    image = slot_plan(device, _read(slot_model)) if slot_model else None
    board = EmulatedBoard(device, seed=seed, jitter=jitter, baud=baud, chunk_bytes=chunk_bytes,
                          faults=fault_set, slot_image=image, mlperf=mlperf)  # fmt: skip
    url = board.open_tcp(tcp_port) if tcp_port is not None else board.open_pty()
    paced = f", paced at {baud} baud" if baud else ""
    click.echo(f"emulating {device.name} on {url} (cycles emulated from its latency model"
               f"{paced}); Ctrl-C to stop", err=False)  # fmt: skip
    try:
        board.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()


def _serve_qemu(machine: str, firmware: Path, port: int) -> None:
    import signal

    from tinynas.profile import QemuBoard

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # QEMU is stopped below, not left running

    for sig in (signal.SIGTERM, signal.SIGHUP):  # a service manager's stop, a closed terminal
        signal.signal(sig, stop)
    board = QemuBoard(machine, firmware, port)
    url = board.start()
    click.echo(f"running {firmware} on QEMU {machine} on {url} (-icount shift=0: the firmware "
               "counts instructions, not cycles); Ctrl-C (or SIGTERM) to stop")
    try:
        board.wait()
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()


def _read(path: Path) -> bytes:
    from tinynas.errors import ModelFileError
    from tinynas.tflite_file import read_tflite

    read_tflite(path)  # a clear error for a missing or non-int8 file
    try:
        return path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"cannot read '{path}': {e}") from e
