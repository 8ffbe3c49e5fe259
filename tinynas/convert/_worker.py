"""TFLite Micro in a child process, so that a model that crashes it cannot take tinynas down.

TFLite Micro trusts the model it is given: a damaged file that passes the structural check of
:func:`tinynas.tflite_file.verify_tflite` can still make it read or write out of bounds (shapes
that disagree between ops, options out of range). Every interpreter of tinynas therefore lives in
one worker process per tinynas process, started on first use (or early, by :func:`prestart`)
and reused for every model; a worker that dies is replaced by the next call.

The worker is a plain ``python -c`` subprocess, not a ``multiprocessing`` child: forking a process
that holds TensorFlow's threads is unsafe, and the ``spawn`` context would re-run a script's
``__main__``. Requests and replies are pickled over two pipes of their own (``multiprocessing``'s
``Connection`` framing), so nothing a native library prints can corrupt them; the worker's stdout
and stderr go to /dev/null (to the terminal under ``tinynas --debug``). It ignores Ctrl-C and
exits when its parent closes the request pipe; the parent kills it on exit (a worker stuck in a
hung interpreter reads nothing), and on Linux the kernel kills it with its parent however that
dies.

What the parent sees:

- a reply: the result, or :class:`TFLMRefused` when TFLite Micro refused the model (with its own
  first line of complaint, and whether the arena was too small);
- the worker's death by a signal: :class:`TFLMCrashError`, one line naming the model and signal;
- no reply within the call's timeout: the worker is killed, :class:`TFLMCrashError` says so.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from tinynas.errors import ConversionError, ModelFileError
from tinynas.native import CapturedFd2, debugging

LOAD_TIMEOUT_S = 30.0  # AllocateTensors takes milliseconds
START_TIMEOUT_S = 120.0  # Python, numpy and tflite_micro starting on a loaded machine
# One Invoke() may take this long: a damaged model can send TFLM's loops through garbage sizes
# (seen: over five minutes in one inference of a 2.7 M MAC model whose tensor lost its shape). The
# reference kernels run at 100-500 M MAC/s on x86; 20 M MAC/s leaves a wide margin.
INVOKE_BASE_S = 10.0
INVOKE_MACS_PER_S = 20e6

_ARENA_SHORT = re.compile(r"Requested: \d+, available \d+|too small for all buffers|"
                          r"Needed \d+ but only \d+ was available")  # TFLM's words for it
# The worker loads this file by its path, not as tinynas.convert._worker: importing the package
# (its conversion pipeline) would add a third to its start-up, which `tinynas check` waits for.
_BOOT = ("import importlib.util as u\n"
         "spec = u.spec_from_file_location('tinynas_tflm_worker', {path!r})\n"
         "module = u.module_from_spec(spec)\n"
         "spec.loader.exec_module(module)\n"
         "module.serve({requests}, {replies}, {parent})\n")
_SAFE_PATH = ["-P"] if sys.version_info >= (3, 11) else []  # no cwd on the worker's sys.path


class TFLMRefused(ConversionError):
    """TFLite Micro refused the model (it said why); ``arena_short``: for lack of arena."""

    def __init__(self, message: str, reason: str, arena_short: bool) -> None:
        super().__init__(message)
        self.reason = reason
        self.arena_short = arena_short


class TFLMCrashError(ModelFileError):
    """TFLite Micro died (or hung) on a model: the model is damaged or beyond what it can run.

    ``exit``: how the worker ended ("SIGSEGV", "exit status 1", "hung").
    """

    exit = "hung"


# ---- the worker's side --------------------------------------------------------------------------


class _Server:
    """What the worker does with each request: interpreters by handle, created on ``load``."""

    def __init__(self) -> None:
        from tflite_micro import runtime

        self.runtime = runtime
        self.loaded: dict[int, Any] = {}

    def interpreter(self, model: bytes, arena_bytes: int) -> Any:
        said = CapturedFd2()
        try:
            with said:
                return self.runtime.Interpreter.from_bytes(model, arena_size=arena_bytes)
        except (RuntimeError, ValueError) as e:  # what the wheel raises for a refused model
            reason = said.first_line(_first_line(e))
            raise _Refusal(reason, bool(_ARENA_SHORT.search(said.text))) from e

    def arena(self, model: bytes, arena_bytes: int) -> str:
        """The RecordingMicroAllocator report TFLite Micro prints after AllocateTensors."""
        interp = self.interpreter(model, arena_bytes)
        said = CapturedFd2()
        with said:
            interp.print_allocations()
        return said.text

    def run(self, model: bytes, inputs: np.ndarray, arena_bytes: int) -> np.ndarray:
        interp = self.interpreter(model, arena_bytes)
        return np.stack([self._invoke(interp, x[None])[0] for x in inputs])

    def load(self, handle: int, model: bytes, arena_bytes: int) -> None:
        self.loaded[handle] = self.interpreter(model, arena_bytes)

    def invoke(self, handle: int, x: np.ndarray) -> np.ndarray:
        return self._invoke(self.loaded[handle], x)

    def drop(self, handle: int) -> None:
        self.loaded.pop(handle, None)

    @staticmethod
    def _invoke(interp: Any, x: np.ndarray) -> np.ndarray:
        """The first output for input tensor ``x`` (batch dimension included)."""
        said = CapturedFd2()
        try:
            with said:
                interp.set_input(x, 0)
                interp.invoke()
                out = np.array(interp.get_output(0))
                interp.reset()
        except (RuntimeError, ValueError) as e:
            raise _Refusal(said.first_line(_first_line(e)), False) from e
        return out


class _Refusal(Exception):
    def __init__(self, reason: str, arena_short: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.arena_short = arena_short


def serve(requests_fd: int, replies_fd: int, parent: int) -> None:
    """The worker's main loop: one reply per request until the request pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with(parent)
    requests = Connection(requests_fd, writable=False)
    replies = Connection(replies_fd, readable=False)
    try:
        server = _Server()
    except Exception as e:  # tflite_micro missing or broken
        replies.send(("failed", f"cannot start TFLite Micro: {_first_line(e)}"))
        return
    replies.send(("ready", None))
    while True:
        try:
            method, args = requests.recv()
        except (EOFError, OSError):
            return
        try:
            replies.send(("ok", getattr(server, method)(*args)))
        except _Refusal as e:
            replies.send(("refused", (e.reason, e.arena_short)))
        except Exception as e:  # a bug or a bad request: the parent raises it as one line
            replies.send(("failed", f"{type(e).__name__}: {_first_line(e)}"))


def _die_with(parent: int) -> None:
    """On Linux, have the kernel kill this process when its parent dies (best effort)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# ---- the parent's side --------------------------------------------------------------------------


class TFLMWorker:
    """The client of one worker process. Thread-safe: one request at a time."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None
        self._ready = False
        self._handles = itertools.count(1)
        self.generation = 0  # how many workers were started: a handle is valid in its own

    def start(self) -> None:
        """Start the worker process if none is running (returns at once: it boots alone)."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._close()
            req_read, req_write = os.pipe()
            rep_read, rep_write = os.pipe()
            quiet = None if debugging() else subprocess.DEVNULL
            try:
                self._proc = _LAUNCHER.popen(
                    [sys.executable, *_SAFE_PATH, "-c", _BOOT.format(
                        path=__file__, requests=req_read, replies=rep_write, parent=os.getpid())],
                    stdin=subprocess.DEVNULL, stdout=quiet, stderr=quiet, env=_child_env(),
                    pass_fds=(req_read, rep_write), close_fds=True,
                )  # fmt: skip
            finally:
                os.close(req_read)
                os.close(rep_write)
            self._requests = Connection(req_write, readable=False)
            self._replies = Connection(rep_read, writable=False)
            self._ready = False
            self.generation += 1

    def call(self, method: str, args: tuple[Any, ...], name: str, timeout_s: float) -> Any:
        """``method(*args)`` in the worker; raises TFLMRefused or TFLMCrashError."""
        with self._lock:
            self.start()
            assert self._requests is not None
            self._await_ready(name)
            try:
                try:
                    self._requests.send((method, args))
                except OSError:  # the worker died between requests; the reply wait says how
                    pass
                status, value = self._reply(name, timeout_s, _DOING.get(method, method))
            except BaseException:  # Ctrl-C while waiting: its reply would answer the next call
                self._close(kill=True)
                raise
            if status == "ok":
                return value
            if status == "refused":
                reason, arena_short = value
                raise TFLMRefused(f"TFLM could not load {name}: {reason}", reason, arena_short)
            raise ConversionError(f"the TFLite Micro worker failed on {name}: {value}")

    def new_handle(self) -> int:
        return next(self._handles)

    def running_generation(self) -> int:
        """Which worker is running (handles live in one worker only); -1 when none is."""
        with self._lock:
            return self.generation if self._proc is not None else -1

    def _await_ready(self, name: str) -> None:
        if self._ready:
            return
        try:
            status, value = self._reply(name, START_TIMEOUT_S, "starting")
        except TFLMCrashError as e:  # it died before any model reached it
            raise ConversionError(f"the TFLite Micro worker did not start ({e.exit}); run with "
                                  "--debug to see why") from e
        if status != "ready":
            self._close()
            raise ConversionError(f"{value}; reinstall tinynas's dependencies (tflite-micro)")
        self._ready = True

    def _reply(self, name: str, timeout_s: float, doing: str) -> tuple[str, Any]:
        assert self._replies is not None and self._proc is not None
        try:
            if self._replies.poll(timeout_s):
                reply: tuple[str, Any] = self._replies.recv()
                return reply
        except (EOFError, OSError, pickle.UnpicklingError):
            pass  # the worker died: its exit status says how
        else:  # no reply in time: a hang
            self._close(kill=True)
            raise TFLMCrashError(f"TFLite Micro hung on {name} ({doing} took over "
                                 f"{timeout_s:.0f} s, stopped): {_DAMAGED}")  # fmt: skip
        proc = self._proc
        self._close()
        code = proc.returncode
        if code is not None and code < 0:
            exit = _signal_name(-code)
            error = TFLMCrashError(f"TFLite Micro crashed ({exit}) on {name}: {_DAMAGED}")
        else:
            exit = f"exit status {code}"
            error = TFLMCrashError(f"the TFLite Micro worker exited ({exit}) while {doing} "
                                   f"{name}: {_DAMAGED}")  # fmt: skip
        error.exit = exit
        raise error

    def _close(self, kill: bool = False, wait: bool = True) -> None:
        """Close the pipes and end the worker (it exits on EOF; killed if it does not)."""
        for conn in (self._requests, self._replies):
            if conn is not None:
                conn.close()
        self._requests = self._replies = None
        proc, self._proc = self._proc, None
        self._ready = False
        if proc is None:
            return
        if kill:
            proc.kill()
        if not wait:
            return
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self, wait: bool = True) -> None:
        """End the worker; without `wait` it is killed (at exit: it may be stuck in TFLM)."""
        with self._lock:
            self._close(kill=not wait, wait=wait)


class _Launcher:
    """Starts processes from one thread that lives as long as this process.

    Linux ties a child's parent-death signal (``_die_with``) to the *thread* that started it:
    a worker started by a short-lived thread (the emulated board's) would be killed with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """``subprocess.Popen(argv, **kwargs)``, called from the launcher thread."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, daemon=True,
                                                name="tinynas-tflm-launcher")  # fmt: skip
                self._thread.start()
        done = threading.Event()
        box: list[Any] = []

        def job() -> None:
            try:
                box.append(subprocess.Popen(argv, **kwargs))
            except BaseException as e:  # noqa: BLE001  (raised in the caller's thread)
                box.append(e)
            finally:
                done.set()

        self._jobs.put(job)
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        proc: subprocess.Popen[bytes] = box[0]
        return proc

    def _serve(self) -> None:
        while True:
            self._jobs.get()()


_LAUNCHER = _Launcher()
_DAMAGED = "the model is damaged or is not one TFLite Micro can run"
_DOING = {"arena": "loading", "load": "loading", "run": "running", "invoke": "running"}


def invoke_timeout_s(macs: int, runs: int = 1) -> float:
    """How long `runs` inferences of a model of `macs` may take before TFLM is deemed hung."""
    return runs * (INVOKE_BASE_S + macs / INVOKE_MACS_PER_S)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _child_env() -> dict[str, str]:
    """This environment, with this tinynas first on the worker's import path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


_WORKER = TFLMWorker()
atexit.register(_WORKER.stop, wait=False)  # the process is leaving: kill, do not wait


def worker() -> TFLMWorker:
    """The process's shared worker."""
    return _WORKER


def prestart() -> None:
    """Start the worker now, so that it boots while the caller reads its model."""
    _WORKER.start()
