"""In-guest child processes: a child whose program is the guest's own Python runs inside the guest.

WASI has no processes, but a child that is Python needs none: it runs as
cooperative work in the same interpreter, with its own process state
(:mod:`.contexts`). What the child gets, decided here:

* **Its own**: ``sys.argv``, ``sys.stdin``/``stdout``/``stderr`` (pipes to the
  parent, ``DEVNULL``, or the parent's own streams when not redirected),
  ``os.environ`` (``env=``, else a copy of the parent's), working directory
  (``cwd=``), ``sys.path`` (script directory or cwd, then ``PYTHONPATH``,
  then the parent's entries), a fresh ``__main__``, asyncio's event loop, the
  root logger's handlers and level, named loggers (``getLogger(name)`` gives
  the child its own), and ``atexit`` callbacks (run when the
  child exits). ``sys.exit``/``os._exit``/an uncaught exception end the child
  only, with the exit code Python would give (1 and a traceback on stderr for
  an exception).
* **Shared** (one interpreter): modules already imported and every module
  imported later (a module is executed once; its globals are shared, and so
  are logger objects it holds from the process that imported it first), signal handlers,
  ``sys.flags``. ``-S`` drops site-packages from the child's ``sys.path``;
  ``-I``/``-E`` ignore ``PYTHON*`` variables and
  ``-I`` adds no script directory; ``-u`` (or ``PYTHONUNBUFFERED``) makes the
  child's stdout and stderr unbuffered; other flags are accepted and ignored.
* **Signals**: ``terminate()``/``kill()``/``send_signal()`` end the child
  with return code ``-signal`` at its next cooperative point (a pipe read or
  write, or any wait); a child that never reaches one (a CPU loop) cannot be
  interrupted: WASI has no preemption.
* **Scheduling**: the child runs when the parent next waits (``wait()``,
  ``communicate()``, a pipe read, the asyncio loop's idle point) and the two
  interleave at every wait. One stack is shared: a wait returns only once
  work started above it on that stack has finished or waits itself.
"""

from __future__ import annotations

import itertools
import os
import re
import sys

from wasi_lsp_guest.cooperative import contexts, pipes
from wasi_lsp_guest.cooperative.contexts import Killed, ProcessContext
from wasi_lsp_guest.cooperative.scheduler import SCHEDULER

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_PYTHON_NAME = re.compile(r"python(3(\.\d+)?)?(\.exe|\.wasm)?")
_PIDS = itertools.count(1000)
#: Flags that take the next argument (or the rest of their own) as a value.
_FLAGS_WITH_VALUE = "WX"


class ChildExit(BaseException):
    """``os._exit`` inside a child: ends that child, not the guest."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def is_guest_python(program) -> bool:
    """Whether ``program`` names this guest's own Python (``sys.executable``, ``python``, ``python3``...)."""
    program = os.fsdecode(program)
    if program == sys.executable or (program and program == os.environ.get("WASI_LSP_PYTHON")):
        return True
    return _PYTHON_NAME.fullmatch(os.path.basename(program)) is not None


def not_python(program) -> OSError:
    return OSError(
        58,  # ENOTSUP, as the runtime's own "wasi does not support processes."
        f"wasi does not support processes: cannot run {os.fsdecode(program)!r}. Inside WASI only "
        "children that are Python itself (sys.executable, python, python3) run, in-guest",
    )


class CommandLine:
    """What ``python ARGS`` would run: ``-c``, ``-m``, a script, or stdin; and the flags that matter here."""

    def __init__(self, args: list[str]) -> None:
        self.kind, self.target, self.argv = "stdin", None, [""]
        self.no_site = self.isolated = self.ignore_env = self.unbuffered = False
        rest = list(args)
        while rest:
            arg = rest.pop(0)
            if arg == "--" or not arg.startswith("-") or arg == "-":
                if arg == "--":
                    arg = rest.pop(0) if rest else "-"
                if arg == "-":
                    self.argv = ["-", *rest]
                else:
                    self.kind, self.target, self.argv = "script", arg, [arg, *rest]
                return
            if arg.startswith("--"):
                continue  # --version and friends are not emulated
            flags = arg[1:]
            while flags:
                flag, flags = flags[0], flags[1:]
                if flag in "cm":
                    value = flags or (rest.pop(0) if rest else None)
                    if value is None:
                        raise ValueError(f"Argument expected for the -{flag} option")
                    self.kind, self.target = ("command", value) if flag == "c" else ("module", value)
                    self.argv = ["-c" if flag == "c" else "-m", *rest]
                    return
                if flag in _FLAGS_WITH_VALUE:
                    if not flags and rest:
                        rest.pop(0)
                    break
                self.no_site |= flag == "S"
                self.isolated |= flag == "I"
                self.ignore_env |= flag in "IE"
                self.unbuffered |= flag == "u"


class Child:
    """One in-guest child: its process state, its pipes, and how it ended."""

    def __init__(self, args: list, *, env=None, cwd=None, stdin=None, stdout=None, stderr=None,
                 on_exit: Callable[[Child], None] | None = None) -> None:
        """``stdin``/``stdout``/``stderr``: a :class:`~.pipes.Pipe`, a file object, or None (the parent's)."""
        self.args = [os.fsdecode(a) for a in args]
        self.command = CommandLine(self.args[1:])
        self.pid = next(_PIDS)
        self.returncode: int | None = None
        self.on_exit = on_exit
        parent = contexts.current()
        parent.save()
        environ = dict(parent.environ) if env is None else {
            os.environ.encodekey(os.fsdecode(k)): os.environ.encodevalue(os.fsdecode(v)) for k, v in env.items()
        }
        context = self.context = ProcessContext(f"child {self.pid}")
        context.argv = self.command.argv
        context.environ = environ
        context.cwd = os.path.join(parent.cwd or "/", os.fsdecode(cwd)) if cwd is not None else parent.cwd
        if cwd is not None and not os.path.isdir(context.cwd):
            raise FileNotFoundError(2, "No such file or directory", os.fsdecode(cwd))
        context.path = self._sys_path(parent.path, environ)
        unbuffered = self.command.unbuffered or bool(
            not self.command.ignore_env and _getenv(environ, "PYTHONUNBUFFERED")
        )
        self._stdin_pipe = stdin if isinstance(stdin, pipes.Pipe) else None
        #: The writing ends this child owns: closed (end-of-file for the parent) when it exits.
        self._outputs: list = []
        context.stdin = pipes.stdin(stdin) if isinstance(stdin, pipes.Pipe) else (stdin or parent.stdin)
        if isinstance(stdout, pipes.Pipe):
            context.stdout = pipes.writer(stdout, True, unbuffered=unbuffered)
            self._outputs.append(context.stdout)
        else:
            context.stdout = stdout or parent.stdout
        if stderr is stdout and isinstance(stdout, pipes.Pipe):
            context.stderr = context.stdout
        elif isinstance(stderr, pipes.Pipe):
            context.stderr = pipes.writer(stderr, True, errors="backslashreplace", unbuffered=unbuffered,
                                          line_buffering=True)
            self._outputs.append(context.stderr)
        else:
            context.stderr = stderr or parent.stderr
        context.main = _fresh_main()
        context.running_loop = context.event_loop = None
        logging = sys.modules.get("logging")
        context.log_handlers = [] if logging is not None else None
        context.log_level = logging.WARNING if logging is not None else None
        context.loggers = {} if logging is not None else None
        _install()
        SCHEDULER.spawn(self._run)

    def _sys_path(self, parent_path: list, environ: dict) -> list:
        command = self.command
        first = []
        if not command.isolated:
            if command.kind == "script":
                first = [os.path.dirname(os.path.abspath(os.path.join(self.context.cwd or "/", command.target)))]
            else:
                first = [self.context.cwd or ""] if command.kind == "module" else [""]
        extra = []
        if not command.ignore_env:
            extra = [p for p in _getenv(environ, "PYTHONPATH").split(os.pathsep) if p]
        inherited = parent_path[1:]
        if command.no_site:
            inherited = [p for p in inherited if "site-packages" not in p and p != os.environ.get("WASI_LSP_SITE")]
        return [*first, *extra, *(p for p in inherited if p not in extra)]

    # -- the child's life ------------------------------------------------------

    def _run(self) -> None:
        code = 0
        code = -self.context.killed if self.context.killed is not None else contexts.run_in(self.context, self._main)
        self._ended(code)

    def _main(self) -> int:
        try:
            try:
                self._execute()
                code = 0
            except SystemExit as exit:
                code = _exit_code(exit.code)
            except ChildExit as exit:
                return exit.code
            except Killed as killed:
                return -killed.signal
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            for callback, args, kwargs in reversed(self.context.atexit):
                try:
                    callback(*args, **kwargs)
                except Exception:
                    import traceback

                    traceback.print_exc()
            return code
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass

    def _execute(self) -> None:
        command = self.command
        main = sys.modules["__main__"]
        if command.kind == "module":
            import runpy

            runpy._run_module_as_main(command.target, alter_argv=True)
            return
        if command.kind == "command":
            source, filename = command.target, "<string>"
        elif command.kind == "script":
            filename = command.target
            try:
                with open(filename, "rb") as file:
                    source = file.read()
            except OSError as error:
                print(f"python: can't open file {filename!r}: [Errno {error.errno}] {error.strerror}", file=sys.stderr)
                raise SystemExit(2) from None
            main.__file__ = filename
        else:
            source, filename = sys.stdin.read(), "<stdin>"
        exec(compile(source, filename, "exec"), main.__dict__)

    def _ended(self, code: int) -> None:
        self.context.ended = True
        for stream in self._outputs:
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        for stream in self._outputs:
            stream = getattr(stream, "buffer", stream)
            getattr(stream, "raw", stream).pipe.close_write()  # even if flushing failed
        if self._stdin_pipe is not None:
            self._stdin_pipe.close_read()
        self.returncode = code
        if self.on_exit is not None:
            self.on_exit(self)

    def send_signal(self, signal: int) -> None:
        """End the child with ``-signal`` at its next cooperative point (no preemption in WASI)."""
        if self.returncode is None and self.context.killed is None:
            self.context.killed = signal


def _getenv(environ: dict, name: str) -> str:
    """``name`` in a child's environment (``os.environ``'s own storage: encoded keys and values)."""
    value = environ.get(os.environ.encodekey(name))
    return "" if value is None else os.environ.decodevalue(value)


def _exit_code(code) -> int:
    """The status ``sys.exit(code)`` gives a process, as CPython computes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _fresh_main():
    module = type(sys)("__main__")
    module.__builtins__ = __builtins__
    return module


_INSTALLED = False


def _install() -> None:
    """The first child turns on what only children need: work bound to its process, per-child exits."""
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    SCHEDULER.bind = contexts.bind
    real_exit = os._exit

    def _exit(code):
        if contexts.current() is not contexts.ROOT:
            raise ChildExit(code)
        real_exit(code)

    os._exit = _exit
    import atexit

    real_register, real_unregister = atexit.register, atexit.unregister

    def register(func, *args, **kwargs):
        context = contexts.current()
        if context is contexts.ROOT:
            return real_register(func, *args, **kwargs)
        context.atexit.append((func, args, kwargs))
        return func

    def unregister(func):
        context = contexts.current()
        if context is contexts.ROOT:
            return real_unregister(func)
        context.atexit[:] = [entry for entry in context.atexit if entry[0] != func]

    atexit.register, atexit.unregister = register, unregister
