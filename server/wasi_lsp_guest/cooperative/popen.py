"""``subprocess.Popen`` for WASI: Python children run in-guest (:mod:`.children`), others raise.

The API is the stdlib's: pipes (``PIPE``, ``DEVNULL``, ``STDOUT``, file
objects), text mode, ``communicate()``, ``wait()``, ``poll()``,
``returncode``, ``send_signal()``/``terminate()``/``kill()`` and the context
manager; ``run()``, ``call()``, ``check_output()`` use it unchanged. Waits
are cooperative: they run the child (and anything else queued) until the
child has exited or the timeout passes.
"""

from __future__ import annotations

import os
import signal
import subprocess

from wasi_lsp_guest.cooperative import pipes
from wasi_lsp_guest.cooperative.children import Child, is_guest_python, not_python
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER

_StdlibPopen = subprocess.Popen


class Popen(_StdlibPopen):
    def __init__(self, args, bufsize=-1, executable=None, stdin=None, stdout=None, stderr=None,
                 preexec_fn=None, close_fds=True, shell=False, cwd=None, env=None, universal_newlines=None,
                 startupinfo=None, creationflags=0, restore_signals=True, start_new_session=False,
                 pass_fds=(), *, user=None, group=None, extra_groups=None, encoding=None, errors=None,
                 text=None, umask=-1, pipesize=-1, process_group=None):
        self.args = args
        self.returncode = None
        self.stdin = self.stdout = self.stderr = None
        self._child = None
        self.encoding, self.errors = encoding, errors
        self.text_mode = bool(encoding or errors or text or universal_newlines)
        self.universal_newlines = self.text_mode
        self._communication_started = False
        argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        program = executable if executable is not None else (argv[0] if argv else "")
        if shell or not argv or not is_guest_python(program):
            raise not_python("/bin/sh" if shell else program)
        ends = [self._end(stdin, "stdin"), self._end(stdout, "stdout")]
        ends.append(ends[1] if stderr == subprocess.STDOUT else self._end(stderr, "stderr"))
        unbuffered = bufsize == 0
        if isinstance(ends[0], pipes.Pipe):
            self.stdin = pipes.writer(ends[0], self.text_mode, encoding, errors, unbuffered=unbuffered,
                                      line_buffering=self.text_mode and bufsize == 1)
            if self.text_mode:
                self.stdin.reconfigure(write_through=True)  # type: ignore[union-attr]
        if isinstance(ends[1], pipes.Pipe):
            self.stdout = pipes.reader(ends[1], self.text_mode, encoding, errors, unbuffered=unbuffered)
        if isinstance(ends[2], pipes.Pipe) and ends[2] is not ends[1]:
            self.stderr = pipes.reader(ends[2], self.text_mode, encoding, errors, unbuffered=unbuffered)
        self._child = Child(argv, env=env, cwd=cwd, stdin=ends[0], stdout=ends[1], stderr=ends[2])
        self.pid = self._child.pid

    @staticmethod
    def _end(spec, name: str):
        """What the child's ``name`` is: a new pipe, a file object, or None (the parent's own)."""
        if spec == subprocess.PIPE:
            return pipes.Pipe(f"child's {name}")
        if spec == subprocess.DEVNULL:
            return open(os.devnull, "r" if name == "stdin" else "w")
        if spec is None:
            return None
        if isinstance(spec, int):
            raise OSError(58, f"wasi-lsp: an in-guest child's {name} cannot be descriptor {spec}: WASI cannot "
                              "duplicate descriptors; pass PIPE, DEVNULL, None or a file object")
        return spec

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: returncode: {self.returncode} args: {self.args!r}>"

    def __del__(self) -> None:
        pass

    def poll(self):
        if self.returncode is None and self._child is not None:
            SCHEDULER.run_pending()
        return self._settle()

    def _settle(self):
        if self.returncode is None and self._child is not None:
            self.returncode = self._child.returncode
        return self.returncode

    def wait(self, timeout=None):
        if self._settle() is None:
            done = SCHEDULER.wait_until(lambda: self._child.returncode is not None, timeout)  # type: ignore[union-attr]
            if not done:
                if timeout is not None:
                    raise subprocess.TimeoutExpired(self.args, timeout)
                raise RuntimeError(
                    f"wasi-lsp: waiting for in-guest child {self.args!r}, which can never finish: it waits "
                    "for something only this waiter (or work below it on WASI's one stack) would provide"
                )
        return self._settle()

    def communicate(self, input=None, timeout=None):
        if self._communication_started and input:
            raise ValueError("Cannot send input after starting communication")
        self._communication_started = True
        if self.stdin is not None and not self.stdin.closed:
            try:
                if input:
                    self.stdin.write(input)
                self.stdin.close()
            except BrokenPipeError:
                pass
        self.wait(timeout)
        out = self.stdout.read() if self.stdout is not None else None
        err = self.stderr.read() if self.stderr is not None else None
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return out, err

    def send_signal(self, sig) -> None:
        self._settle()
        if self.returncode is None:
            self._child.send_signal(int(sig))  # type: ignore[union-attr]

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __exit__(self, exc_type, value, traceback):
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        try:
            if self.stdin is not None:
                self.stdin.close()
        except BrokenPipeError:
            pass
        finally:
            self.wait()


def install(module) -> None:
    module.Popen = Popen
