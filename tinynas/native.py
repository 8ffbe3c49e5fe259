"""File descriptor 2 around native libraries: capture what their C++ code prints, or silence it.

TensorFlow, absl, oneDNN, LiteRT and TFLite Micro write their log lines straight to file
descriptor 2, under Python's ``sys.stderr``; only redirecting the descriptor catches them. The
helpers here are the one place that does it:

- :func:`fd2_to` points fd 2 at a binary file for the length of a ``with`` block;
- :class:`CapturedFd2` collects what was written there as text (TFLM prints its reports and its
  reasons for refusing a model that way);
- :func:`quiet` and :func:`import_quietly` silence start-up chatter and converter log lines.

Silencing is switched off by ``tinynas --debug``, which sets ``TINYNAS_DEBUG=1`` (a user may set
it too): the third-party output then reaches the terminal as the libraries wrote it.

This module sits in the lowest layer of the package: it imports only the standard library.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Self

DEBUG_ENV = "TINYNAS_DEBUG"

# read by TensorFlow's C++ logging once, when it is loaded; setdefault keeps a user's own choice
_TF_ENV_DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "3"}


def debugging() -> bool:
    """Whether third-party output should be shown (``tinynas --debug`` or ``TINYNAS_DEBUG=1``)."""
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


@contextlib.contextmanager
def fd2_to(sink: IO[bytes]) -> Iterator[None]:
    """Points file descriptor 2 at `sink` (an open binary file) inside the block.

    ``sys.stderr`` is flushed on the way in and out, so Python's own buffered writes land where
    they were made; fd 2 is restored however the block ends.
    """
    _flush_stderr()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
    finally:
        os.close(saved)


def _flush_stderr() -> None:
    if sys.stderr is not None:  # None under pythonw
        sys.stderr.flush()


class CapturedFd2:
    """Context manager: what is written to fd 2 inside the block, as text once the block exits.

    ``text`` is also set when the block raises, so an error handler around the ``with`` can read
    the native library's own explanation::

        said = CapturedFd2()
        try:
            with said:
                interpreter.load(model)
        except RuntimeError:
            reason = said.first_line()
    """

    def __init__(self) -> None:
        self.text = ""
        self._exit = contextlib.ExitStack()

    def __enter__(self) -> Self:
        self.text = ""
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(tempfile.TemporaryFile())
            stack.callback(self._read, sink)  # runs after fd 2 is restored
            stack.enter_context(fd2_to(sink))
            self._exit = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def _read(self, sink: IO[bytes]) -> None:
        sink.seek(0)
        self.text = sink.read().decode(errors="replace")

    def first_line(self, default: str = "") -> str:
        """The first non-blank line captured (stripped), or `default`."""
        return next((s for s in (line.strip() for line in self.text.splitlines()) if s), default)


def capture_fd2(fn: Callable[[], object]) -> str:
    """Calls `fn()` and returns what it wrote to fd 2."""
    with CapturedFd2() as captured:
        fn()
    return captured.text


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silences native libraries inside the block: their C++ log lines on fd 2, Python warnings
    and anything printed to ``sys.stdout``. Under ``--debug`` everything shows.

    Also sets TensorFlow's logging environment defaults, which it reads only when it is loaded.
    """
    if debugging():
        yield
        return
    with _fd2_silenced(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def import_quietly(name: str) -> ModuleType:
    """``import name`` with the start-up log lines of TensorFlow, absl and oneDNN silenced.

    Use it wherever TensorFlow may be loaded first (``keras`` loads it too): those lines go to
    fd 2 as the shared libraries load, before any setting can be changed from Python. Python
    warnings raised by the import are written to fd 2 as well, so they are silenced with it;
    the warning filters the imported modules install are kept. A failed import raises as usual.
    """
    if name in sys.modules:
        return sys.modules[name]
    if debugging():
        return importlib.import_module(name)
    with _fd2_silenced():
        return importlib.import_module(name)


@contextlib.contextmanager
def _fd2_silenced() -> Iterator[None]:
    for name, value in _TF_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    with open(os.devnull, "wb") as devnull, fd2_to(devnull):
        yield
