"""The POSIX process and file-system pieces that WASI preview 1 lacks.

Python code written for Linux reaches for these at start-up (pytest, pygls,
docutils, tempfile users); without them it dies with an ``AttributeError`` or
``ModuleNotFoundError`` far from the cause. Each shim behaves like a POSIX
system with one process, one thread and one user, or raises an error that
says what WASI lacks.

=============================  ==============================================================
Shim                           Behaviour in the guest, and why
=============================  ==============================================================
``os.getuid/geteuid``,         ``0``. wasi-libc reports ``st_uid == st_gid == 0`` for every
``os.getgid/getegid``,         file, so the same id keeps ownership checks (pytest's basetemp
``os.getgroups``               "owned by the current user") true. There are no privileges to
                               have: root here grants nothing the sandbox does not.
``pwd``, ``grp``               One user ``wasi`` (uid 0) and one group ``wasi`` (gid 0), home
                               ``$HOME``; lookups of anything else raise ``KeyError`` as on
                               POSIX. Loaded only when imported.
``getpass.getuser()``          ``"wasi"`` (through ``pwd``), unless ``LOGNAME``/``USER`` is set.
``HOME``                       Set to ``/tmp`` (the private scratch dir) when unset, so
                               ``Path.home()`` and ``expanduser('~')`` name a writable dir.
``os.umask(mask)``             Records the mask and returns the previous one (initially
                               ``0o022``). WASI files have no permission bits, so it has no
                               other effect.
``os.getppid()``               ``1``: the host is not a process the guest can see, like an
                               orphan's parent.
``os.dup(fd)``                 Raises ``OSError(ENOTSUP)`` saying WASI cannot duplicate a file
                               descriptor (the runtime's own ``dup`` fails with a bare
                               "Not supported").
``os.fork``, ``os.pipe``,      Still absent (``hasattr`` is false, so feature checks keep
``os.dup2``, ``os.kill``, ...  working), but the ``AttributeError`` says what WASI lacks.
``os.get_terminal_size(fd)``   On a terminal: ``$COLUMNS``x``$LINES``, else 80x24 (WASI has no
                               ioctl to ask). Not a terminal: ``OSError(ENOTTY)``, as on POSIX.
``os.chdir('/')``              wasi-libc can only enter directories under a mount, and ``/`` is
                               none. The working directory ``/`` is emulated: ``os.getcwd()``
                               says ``/``, relative paths given to ``open`` and ``os`` path
                               functions resolve against ``/``, and a later ``chdir`` (absolute
                               or relative, ``..`` resolved lexically) leaves the emulation.
                               Listing ``/`` still fails (nothing is mounted there), and an
                               import from ``''`` on ``sys.path`` still uses the directory
                               before it.
``/dev/null`` (``os.devnull``) The host mounts a scratch ``/dev`` holding an ordinary file
                               ``null``. ``open(os.devnull)`` returns a null file: reads give
                               EOF and writes are discarded. ``os.open(os.devnull)`` for writing
                               truncates the file, so raw-fd writers cannot fill the disk across
                               opens (a reader of a raw fd may see bytes a still-open writer
                               just wrote).
``os.stat``, ``os.lstat`` on   Older wasi-libc answers ``ENOTCAPABLE`` (errno 76) for a path
paths outside every mount      no mount holds; ``os.path.exists`` and ``pathlib`` treat that
                               as an error, not as "absent". The guest sees exactly what was
                               granted, so such a path does not exist: ``FileNotFoundError``.
=============================  ==============================================================

Threads, ``concurrent.futures``, ``multiprocessing`` and ``asyncio`` are in
:mod:`wasi_lsp_guest.compat.concurrency`.
"""

import builtins
import errno
import io
import os
import posixpath
import sys

#: The one user and group of the guest; see the module docstring for why 0.
UID = GID = 0
USER = GROUP = "wasi"
DEFAULT_HOME = "/tmp"
DEVNULL = "/dev/null"

_MISSING = {
    "fork": "WASI has no processes to fork",
    "forkpty": "WASI has no processes or terminals",
    "execv": "WASI cannot replace the running program",
    "execve": "WASI cannot replace the running program",
    "pipe": "WASI preview 1 has no pipes",
    "pipe2": "WASI preview 1 has no pipes",
    "dup2": "WASI preview 1 cannot duplicate or replace a file descriptor",
    "kill": "WASI has no signals between processes",
    "killpg": "WASI has no signals between processes",
    "wait": "WASI has no child processes",
    "waitpid": "WASI has no child processes",
    "getpgrp": "WASI has no process groups",
    "setsid": "WASI has no sessions or process groups",
    "setpgid": "WASI has no process groups",
}


_installed = False


def install() -> None:
    """Fill the gaps on ``os``, ``builtins.open``/``io.open`` and the import system.

    Idempotent: wrapping twice would make the wrappers call themselves.
    """
    global _installed
    if _installed:
        return
    _installed = True
    for name in ("getuid", "geteuid"):
        _define(name, lambda: UID)
    for name in ("getgid", "getegid"):
        _define(name, lambda: GID)
    _define("getgroups", lambda: [GID])
    _define("getppid", lambda: 1)
    _define("umask", umask)
    _define("get_terminal_size", get_terminal_size)
    os.dup = _dup(os.dup)
    os.__getattr__ = _missing_attribute
    if not os.environ.get("HOME") and os.path.isdir(DEFAULT_HOME):
        os.environ["HOME"] = DEFAULT_HOME
    global _real_chdir, _real_getcwd, _real_getcwdb, _real_open, _real_os_open
    _real_chdir, _real_getcwd, _real_getcwdb = os.chdir, os.getcwd, os.getcwdb
    _real_open, _real_os_open = io.open, os.open
    os.chdir, os.getcwd, os.getcwdb = chdir, getcwd, getcwdb
    os.stat, os.lstat = _absent_if_ungranted(os.stat), _absent_if_ungranted(os.lstat)
    builtins.open = io.open = open_
    os.open = os_open
    sys.meta_path.append(_PasswdFinder)


ENOTCAPABLE = 76


def _absent_if_ungranted(real):
    def stat(path, *args, **kwargs):
        try:
            return real(path, *args, **kwargs)
        except PermissionError as error:
            if error.errno != ENOTCAPABLE:
                raise
            raise FileNotFoundError(errno.ENOENT, "No such file or directory (not granted to the guest)",
                                    path) from None

    stat.__wrapped__ = real
    return stat


def _define(name: str, function) -> None:
    """Only where the runtime lacks it: a runtime that has the real one keeps it."""
    if not hasattr(os, name):
        function.__name__ = name
        setattr(os, name, function)


def _missing_attribute(name: str):
    reason = _MISSING.get(name)
    if reason is None:
        raise AttributeError(f"module 'os' has no attribute {name!r}")
    raise AttributeError(f"module 'os' has no attribute {name!r}: {reason}")


# --- process-wide values -----------------------------------------------------------------

_umask = 0o022


def umask(mask: int) -> int:
    global _umask
    if not isinstance(mask, int):
        raise TypeError(f"{type(mask).__name__!r} object cannot be interpreted as an integer")
    previous, _umask = _umask, mask & 0o777
    return previous


def get_terminal_size(fd: int = 1) -> os.terminal_size:
    if not os.isatty(fd):
        raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
    try:
        columns = int(os.environ.get("COLUMNS", 0)) or 80
        lines = int(os.environ.get("LINES", 0)) or 24
    except ValueError:
        columns, lines = 80, 24
    return os.terminal_size((columns, lines))


def _dup(real):
    def dup(fd: int) -> int:
        try:
            return real(fd)
        except OSError as error:
            if error.errno != errno.ENOTSUP:
                raise
            raise OSError(
                errno.ENOTSUP,
                "os.dup: WASI preview 1 cannot duplicate a file descriptor; "
                "open the file again instead",
            ) from None

    return dup


# --- the emulated working directory "/" --------------------------------------------------

#: True while the working directory is the emulated "/".
_at_root = False
_real_chdir = _real_getcwd = _real_getcwdb = _real_open = _real_os_open = None


def chdir(path) -> None:
    global _at_root
    if isinstance(path, int):
        _real_chdir(path)
        _at_root = False
        return
    target = os.fsdecode(os.fspath(path))
    if not target.startswith("/"):
        target = posixpath.join(getcwd(), target)
    target = posixpath.normpath(target)
    if target in ("/", "//"):
        try:
            _real_chdir("/")
            _at_root = False
        except OSError:
            _root_paths()
            _at_root = True
        return
    _real_chdir(target)
    _at_root = False


def getcwd() -> str:
    return "/" if _at_root else _real_getcwd()


def getcwdb() -> bytes:
    return b"/" if _at_root else _real_getcwdb()


def _rooted(path):
    """Anchor a relative path at "/" while the emulated root is the working directory."""
    if not _at_root or isinstance(path, int):
        return path
    raw = os.fspath(path)
    if isinstance(raw, str):
        return raw if raw.startswith("/") else "/" + raw
    return raw if raw.startswith(b"/") else b"/" + raw


_ONE_PATH = ("stat", "lstat", "mkdir", "rmdir", "remove", "unlink", "access", "chmod", "utime",
             "readlink", "truncate")
_TWO_PATHS = ("rename", "replace", "link")
_rooting = False


def _root_paths() -> None:
    """Wrap os path functions so relative paths follow the emulated root.

    Done on the first emulated ``chdir('/')`` only, so programs that never
    enter it pay nothing.
    """
    global _rooting
    if _rooting:
        return
    _rooting = True

    def one(real):
        def wrapper(path, *args, **kwargs):
            if kwargs.get("dir_fd") is None:
                path = _rooted(path)
            return real(path, *args, **kwargs)

        return wrapper

    def two(real):
        def wrapper(src, dst, *args, **kwargs):
            if kwargs.get("src_dir_fd") is None:
                src = _rooted(src)
            if kwargs.get("dst_dir_fd") is None:
                dst = _rooted(dst)
            return real(src, dst, *args, **kwargs)

        return wrapper

    def listing(real):
        def wrapper(path=".", *args, **kwargs):
            return real(_rooted(path), *args, **kwargs)

        return wrapper

    for name in _ONE_PATH:
        if hasattr(os, name):
            setattr(os, name, one(getattr(os, name)))
    for name in _TWO_PATHS:
        if hasattr(os, name):
            setattr(os, name, two(getattr(os, name)))
    real_symlink = os.symlink

    def symlink(src, dst, *args, **kwargs):
        return real_symlink(src, _rooted(dst) if kwargs.get("dir_fd") is None else dst, *args, **kwargs)

    os.symlink = symlink
    os.listdir = listing(os.listdir)
    os.scandir = listing(os.scandir)


# --- /dev/null ---------------------------------------------------------------------------


def _is_devnull(file) -> bool:
    if isinstance(file, int) or not isinstance(file, (str, bytes, os.PathLike)):
        return False
    raw = os.fsdecode(os.fspath(file))
    if not raw.endswith("null"):
        return False
    return posixpath.normpath(posixpath.join(getcwd(), raw)) == DEVNULL


class _NullRaw(io.RawIOBase):
    """A raw file that is always empty and swallows writes, like the character device."""

    def __init__(self, name, mode: str):
        super().__init__()
        self.name = name
        self.mode = mode
        self._readable = "r" in mode or "+" in mode
        self._writable = any(c in mode for c in "wa+")
        self._fd = None

    def readable(self) -> bool:
        return self._readable

    def writable(self) -> bool:
        return self._writable

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def truncate(self, size=None) -> int:
        return 0

    def readinto(self, buffer) -> int:
        if not self._readable:
            raise io.UnsupportedOperation("read")
        return 0

    def write(self, data) -> int:
        if not self._writable:
            raise io.UnsupportedOperation("write")
        return memoryview(data).nbytes

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        """A real descriptor on the scratch file, for callers that need one (opened on demand)."""
        if self._fd is None:
            self._fd = os_open(DEVNULL, os.O_RDWR)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        super().close()


def open_(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
    if opener is not None or not _is_devnull(file):
        return _real_open(_rooted(file), mode, buffering, encoding, errors, newline, closefd, opener)
    if set(mode) - set("rwaxbt+") or sum(mode.count(c) for c in "rwax") != 1:
        raise ValueError(f"invalid mode: {mode!r}")
    if "x" in mode:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), file)
    raw = _NullRaw(file, mode)
    binary = "b" in mode
    if buffering == 0:
        if not binary:
            raise ValueError("can't have unbuffered text I/O")
        return raw
    if "+" in mode:
        buffer = io.BufferedRandom(raw)
    elif raw.readable():
        buffer = io.BufferedReader(raw)
    else:
        buffer = io.BufferedWriter(raw)
    if binary:
        return buffer
    text = io.TextIOWrapper(buffer, encoding, errors, newline, line_buffering=buffering == 1)
    text.mode = mode
    return text


open_.__name__ = open_.__qualname__ = "open"
open_.__doc__ = io.open.__doc__


def os_open(path, flags, mode=0o777, *, dir_fd=None):
    if dir_fd is None:
        if _is_devnull(path) and flags & (os.O_WRONLY | os.O_RDWR):
            flags |= os.O_TRUNC
        path = _rooted(path)
    return _real_os_open(path, flags, mode, dir_fd=dir_fd)


os_open.__name__ = os_open.__qualname__ = "open"


# --- pwd and grp -------------------------------------------------------------------------


def _home() -> str:
    return os.environ.get("HOME") or DEFAULT_HOME


class _PasswdFinder:
    """Provides ``pwd`` and ``grp`` on import, after every real finder has declined."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if path is None and name in ("pwd", "grp"):
            from importlib.machinery import ModuleSpec

            return ModuleSpec(name, cls, origin="wasi-lsp compat")
        return None

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module) -> None:
        (_fill_pwd if module.__name__ == "pwd" else _fill_grp)(module)


def _record(name: str, fields: tuple[str, ...]):
    """A tuple with named fields, like the C modules' struct sequences."""
    namespace = {field: property(lambda self, i=i: self[i]) for i, field in enumerate(fields)}
    namespace["n_fields"] = namespace["n_sequence_fields"] = len(fields)
    namespace["__slots__"] = ()
    namespace["__repr__"] = lambda self: (
        f"{name}({', '.join(f'{f}={v!r}' for f, v in zip(fields, self, strict=False))})")
    return type(name, (tuple,), namespace)


def _fill_pwd(module) -> None:
    struct_passwd = _record(
        "pwd.struct_passwd", ("pw_name", "pw_passwd", "pw_uid", "pw_gid", "pw_gecos", "pw_dir", "pw_shell")
    )

    def entry():
        return struct_passwd((USER, "x", UID, GID, "WASI guest", _home(), "/sbin/nologin"))

    def getpwuid(uid):
        if uid != UID:
            raise KeyError(f"getpwuid(): uid not found: {uid}")
        return entry()

    def getpwnam(name):
        if name != USER:
            raise KeyError(f"getpwnam(): name not found: {name!r}")
        return entry()

    module.struct_passwd = struct_passwd
    module.getpwuid, module.getpwnam, module.getpwall = getpwuid, getpwnam, lambda: [entry()]


def _fill_grp(module) -> None:
    struct_group = _record("grp.struct_group", ("gr_name", "gr_passwd", "gr_gid", "gr_mem"))
    entry = struct_group((GROUP, "x", GID, [USER]))

    def getgrgid(gid):
        if gid != GID:
            raise KeyError(f"getgrgid(): gid not found: {gid}")
        return entry

    def getgrnam(name):
        if name != GROUP:
            raise KeyError(f"getgrnam(): name not found: {name!r}")
        return entry

    module.struct_group = struct_group
    module.getgrgid, module.getgrnam, module.getgrall = getgrgid, getgrnam, lambda: [entry]
