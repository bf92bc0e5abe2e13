"""``wasi-lsp runtime build``: CPython for wasm32-wasi from source, from registry packages only.

Why build at all: the pinned runtime cannot be snapshotted (it exports no
initialization function), and a runtime nobody can rebuild cannot be audited.
Every input comes from Debian: CPython's upstream tarball as Debian ships it in
the ``python3.11`` source package, Debian's clang/lld/wasi-libc, and Debian's
own python3.11 (the same 3.11.2) as the build Python, so the frozen modules and
the bytecode carry the right magic number.

The result lands in the cache in the CPython release layout
(``python.wasm`` + ``lib/python3.11/``) with ``manifest.json`` recording the
exact inputs and the output hashes; ``--runtime built:3.11`` finds it there.
A build whose recorded inputs equal the current ones is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from wasi_lsp import cache
from wasi_lsp.errors import WasiLspError
from wasi_lsp.runtime import GUEST_PREFIX, Runtime, built, built_dir

#: What can be built, by tag: Debian source package, the version pinned, and its upstream tarball.
RECIPES = {
    "3.11": {
        "source_package": "python3.11",
        # deb12u8 is the newest whose files the security archive still serves; the
        # upstream tarball (all that is built) is the same in every 3.11.2-6 revision.
        "source_version": "3.11.2-6+deb12u8",
        "orig_tarball": "python3.11_3.11.2.orig.tar.gz",
        "orig_sha256": "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849",
        "source_dir": "Python-3.11.2",
        "build_python": "/usr/bin/python3.11",
    },
}

#: C libraries CPython's modules link against, built for wasm32-wasi from their Debian
#: source packages (Debian ships no wasm32 builds of them). Each gives one stdlib module:
#: ``zlib`` (Sphinx, rstls), ``_bz2``, ``_lzma`` and ``_sqlite3`` (esbonio's Sphinx agent
#: keeps a SQLite database). ``build`` names the function in LIBRARY_BUILDERS that compiles it.
LIBRARIES: dict[str, dict[str, Any]] = {
    "zlib": {
        "source_package": "zlib",
        "source_version": "1:1.2.13.dfsg-1",
        "orig_tarball": "zlib_1.2.13.dfsg.orig.tar.bz2",
        "orig_sha256": "71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1",
        "source_dir": "zlib-1.2.13.dfsg",
        "build": "units",
        "sources": ("adler32", "compress", "crc32", "deflate", "gzclose", "gzlib", "gzread", "gzwrite",
                    "infback", "inffast", "inflate", "inftrees", "trees", "uncompr", "zutil"),
        "cflags": ("-O2", "-D_LARGEFILE64_SOURCE=1"),
        "headers": ("zlib.h", "zconf.h"),
        "archive": "libz.a",
    },
    "bzip2": {
        "source_package": "bzip2",
        "source_version": "1.0.8-5",
        "orig_tarball": "bzip2_1.0.8.orig.tar.gz",
        "orig_sha256": "ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269",
        "source_dir": "bzip2-1.0.8",
        "build": "units",
        "sources": ("blocksort", "huffman", "crctable", "randtable", "compress", "decompress", "bzlib"),
        "cflags": ("-O2", "-D_FILE_OFFSET_BITS=64"),
        "headers": ("bzlib.h",),
        "archive": "libbz2.a",
    },
    "xz-utils": {
        "source_package": "xz-utils",
        "source_version": "5.4.1-1+deb12u2",
        "orig_tarball": "xz-utils_5.4.1.orig.tar.xz",
        "orig_sha256": "5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5",
        "source_dir": "xz-5.4.1",
        "build": "liblzma",
        # mythread.h declares a sigprocmask() helper liblzma never calls without threads.
        "cflags": ("-O2", "-D_WASI_EMULATED_SIGNAL"),
        "archive": "liblzma.a",
    },
    "sqlite3": {
        "source_package": "sqlite3",
        "source_version": "3.40.1-2+deb12u2",
        "orig_tarball": "sqlite3_3.40.1.orig.tar.xz",
        "orig_sha256": "aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655",
        "source_dir": "sqlite3-3.40.1",
        "build": "sqlite",
        # No threads, no dlopen, no shared memory in WASI: WAL (which maps a -shm file) and
        # memory-mapped I/O are compiled out; locking is stubbed by scripts/runtime/sqlite_wasi.h.
        "cflags": ("-O2", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", "-DSQLITE_OMIT_WAL",
                   "-DSQLITE_MAX_MMAP_SIZE=0", "-DSQLITE_DEFAULT_MEMSTATUS=0"),
        "compat_header": "sqlite_wasi.h",
        "archive": "libsqlite3.a",
    },
}

#: liblzma's config.h for wasm32-wasi (its configure would take longer than compiling it):
#: every filter and check xz itself has, no threads.
LIBLZMA_CONFIG = """\
#define HAVE_STDBOOL_H 1
#define HAVE__BOOL 1
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_LIMITS_H 1
#define HAVE_STRING_H 1
#define HAVE_STRINGS_H 1
#define HAVE_MEMORY_H 1
#define HAVE_STDLIB_H 1
#define HAVE_UNISTD_H 1
#define SIZEOF_SIZE_T 4
#define ASSUME_RAM 128
#define PACKAGE "xz"
#define PACKAGE_NAME "XZ Utils"
#define PACKAGE_URL "https://tukaani.org/xz/"
#define HAVE_CHECK_CRC32 1
#define HAVE_CHECK_CRC64 1
#define HAVE_CHECK_SHA256 1
#define HAVE_LZIP_DECODER 1
#define HAVE_MICROLZMA 1
#define HAVE_MF_HC3 1
#define HAVE_MF_HC4 1
#define HAVE_MF_BT2 1
#define HAVE_MF_BT3 1
#define HAVE_MF_BT4 1
/* mythread.h (no threads) declares a sigprocmask() helper that liblzma never calls;
   wasi-libc has neither sigset_t nor sigprocmask. */
typedef unsigned long sigset_t;
int sigprocmask(int, const sigset_t *, sigset_t *);
""" + "".join(f"#define HAVE_{kind}_{name} 1\n" for kind in ("ENCODER", "DECODER")
              for name in ("LZMA1", "LZMA2", "X86", "POWERPC", "IA64", "ARM", "ARMTHUMB", "ARM64", "SPARC", "DELTA")) \
  + "#define HAVE_ENCODERS 1\n#define HAVE_DECODERS 1\n"

#: liblzma sources left out: the threaded coders, and the alternatives to the table-driven CRCs.
LIBLZMA_OMIT = ("outqueue", "stream_encoder_mt", "stream_decoder_mt", "hardware_cputhreads",
                "crc32_small", "crc64_small", "crc32_tablegen", "crc64_tablegen", "fastpos_tablegen",
                "price_tablegen")

#: ``tcl``: SQLite makes its single-file source (the amalgamation) with Tcl scripts.
TOOLCHAIN = ("clang", "lld", "llvm", "wasi-libc", "libclang-rt-dev-wasm32", "python3.11", "make", "dpkg-dev", "tcl")

#: CPython 3.11.2's release day: every timestamp the build embeds is this one.
SOURCE_DATE_EPOCH = "1675814400"

#: No ``-g``: debug info would embed build paths in python.wasm (and triple its size).
#: ``-O3`` and nothing more, by measurement (README "Performance", build flags): ``-O2`` was
#: 10% slower; LTO and binaryen's ``wasm-opt`` bought nothing measurable and cost build time.
#: No ``-O`` on the link line: clang would then run any ``wasm-opt`` on PATH over python.wasm,
#: making the output depend on whether binaryen happens to be installed.
OPT = "-DNDEBUG -fwrapv -O3 -Wall"

#: Modules whose C library has no wasm32 build here; told to configure so that the
#: host's headers (clang with --sysroot=/usr also searches /usr/include) cannot leak in.
CONFIG_CACHE = ("ac_cv_header_uuid_uuid_h=no", "ac_cv_header_uuid_h=no", "ac_cv_header_ffi_h=no",
                "ac_cv_header_gdbm_h=no", "ac_cv_header_ndbm_h=no", "ac_cv_header_readline_readline_h=no",
                "ac_cv_header_ncurses_h=no", "ac_cv_header_curses_h=no", "ac_cv_header_panel_h=no")


#: What the work directory is called inside python.wasm: ``__FILE__`` (in CPython's and
#: liblzma's assertion and error messages) would otherwise embed the cache's absolute
#: path, and the same recipe built in two caches would give two different modules.
BUILD_PREFIX = "/wasi-lsp-build"


def wasi_cc(sysroot: Path) -> str:
    return f"clang --target=wasm32-wasi --sysroot={sysroot} -ffile-prefix-map={sysroot.parent}={BUILD_PREFIX}"

CONFIGURE_FLAGS = (
    "--host=wasm32-unknown-wasi",
    "--build=x86_64-pc-linux-gnu",
    f"--prefix={GUEST_PREFIX}",
    "--disable-test-modules",
)

#: Left out of lib/: tests and GUI/packaging tools that cannot run in WASI anyway.
OMIT_LIB = ("test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3/tests", "distutils/tests")

ENTRY_SOURCE = "wasi_lsp_main.c"
#: Compiled as part of the entry point (it ``#include``s them), from the same directory.
ENTRY_INCLUDES = ("wasi_lsp_fibers.c",)
#: Applied to the CPython source with ``patch -p1``: cooperative threads as resumable frame
#: chains (``_wasi_fibers``), and ``*args`` calls and ``with`` blocks of Python functions
#: evaluated without C recursion, so that a waiting thread's frames form one chain.
SOURCE_PATCHES = ("fibers.patch",)
MANIFEST = "manifest.json"
FORMAT = 1


def entry_dir() -> Path:
    """``scripts/runtime`` of the source checkout, which holds the C entry point."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "runtime"
    if not (path / ENTRY_SOURCE).is_file():
        raise WasiLspError(
            f"the runtime's C entry point {path / ENTRY_SOURCE} is missing",
            fix="run wasi-lsp runtime build from a source checkout of wasi-lsp (pip install -e .)",
        )
    return path


def output_dir(tag: str) -> Path:
    path = built_dir(tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def read_manifest(tag: str) -> dict | None:
    try:
        manifest = json.loads((output_dir(tag) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def registered(tag: str) -> Runtime:
    """The runtime ``built:TAG`` names, as :func:`wasi_lsp.runtime_resolve.resolve` returns it."""
    if tag not in RECIPES:
        raise WasiLspError(
            f"there is no built runtime {tag!r}: wasi-lsp can build {', '.join(RECIPES)}",
            fix=f"run wasi-lsp runtime build (it builds {', '.join(RECIPES)}), "
            f"then use --runtime built:{next(iter(RECIPES))}",
        )
    return built(tag)


# -- inputs ---------------------------------------------------------------------------------


def _run(command: list[str], *, cwd: Path | None = None, env: dict | None = None, log: Path | None = None) -> str:
    try:
        if log is None:
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
            output = done.stdout + done.stderr
        else:
            with open(log, "a") as handle:
                handle.write(f"\n$ {' '.join(command)}\n")
                handle.flush()
                done = subprocess.run(command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True)
            output = log.read_text(errors="replace")[-3000:]
    except FileNotFoundError:
        raise WasiLspError(f"{command[0]} is not installed", fix=f"apt-get install {' '.join(TOOLCHAIN)}") from None
    if done.returncode != 0:
        raise WasiLspError(
            f"{' '.join(command[:3])} failed (exit {done.returncode}):\n{output.strip()[-3000:]}",
            fix=f"see {log}" if log else None,
        )
    return done.stdout if log is None else ""


def package_versions(names=TOOLCHAIN) -> dict[str, str | None]:
    """Installed Debian versions of the toolchain, ``None`` for a missing one."""
    versions: dict[str, str | None] = {}
    for name in names:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Version}", name], capture_output=True, text=True)
        status, _, version = done.stdout.partition("|")
        versions[name] = version if done.returncode == 0 and status.endswith(" installed") else None
    return versions


def ensure_toolchain() -> dict[str, str]:
    """Install the Debian toolchain when missing (as root), else say how."""
    if shutil.which("dpkg-query") is None or shutil.which("apt-get") is None:
        raise WasiLspError("building the runtime needs a Debian (bookworm) system with apt",
                           fix="run wasi-lsp runtime build on Debian bookworm, or in its container")
    versions = package_versions()
    missing = [name for name, version in versions.items() if version is None]
    if missing:
        if os.geteuid() != 0:
            raise WasiLspError(f"the build toolchain is missing: {' '.join(missing)}",
                               fix=f"sudo apt-get install --no-install-recommends {' '.join(missing)}")
        _apt(["install", "-y", "--no-install-recommends", *missing])
        versions = package_versions()
    return {k: v for k, v in versions.items() if v}


def _apt(args: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for another apt/dpkg (a parallel set-up, unattended upgrades) instead of failing.
    _run(["apt-get", "-o", "DPkg::Lock::Timeout=900", *args], env=env)


DEB_SRC_FILE = Path("/etc/apt/sources.list.d/wasi-lsp-deb-src.sources")


def deb_src_stanzas(sources_text: str) -> str:
    """``deb-src`` twins of the ``deb`` stanzas of a deb822 ``.sources`` file."""
    out = []
    for stanza in sources_text.split("\n\n"):
        lines = [line for line in stanza.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        types = next((line for line in lines if line.lower().startswith("types:")), None)
        if types is None or "deb" not in types.split(":", 1)[1].split():
            continue
        body = [line for line in lines if not line.lower().startswith(("types:", "architectures:"))]
        out.append("\n".join(["Types: deb-src", *body]))
    return "\n\n".join(out) + ("\n" if out else "")


def ensure_deb_src(package: str) -> None:
    """Make ``apt-get source`` work: add deb-src twins of the enabled deb sources."""
    if subprocess.run(["apt-cache", "showsrc", package], capture_output=True, text=True).stdout.strip():
        return
    if os.geteuid() != 0:
        raise WasiLspError(f"apt has no source package {package}: deb-src is not enabled",
                           fix="as root, add deb-src lines to /etc/apt/sources.list.d/ "
                           "(or run wasi-lsp runtime build as root)")
    texts = [p.read_text() for p in sorted(Path("/etc/apt/sources.list.d").glob("debian*.sources"))]
    stanzas = "\n".join(deb_src_stanzas(t) for t in texts)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        stanzas += "\n".join(f"deb-src{line[3:]}" for line in legacy.read_text().splitlines()
                              if line.startswith("deb "))
    if not stanzas.strip():
        raise WasiLspError("no Debian deb sources found to derive deb-src from",
                           fix="add deb-src lines for bookworm to /etc/apt/sources.list.d/")
    DEB_SRC_FILE.write_text(stanzas)
    _apt(["update"])


def fetch_source(recipe: dict, work: Path) -> dict:
    """Download the Debian source package and check the upstream tarball's hash."""
    downloads = work / "debian-source"
    tarball = downloads / recipe["orig_tarball"]
    if not (tarball.is_file() and cache.file_sha256(tarball) == recipe["orig_sha256"]):
        ensure_deb_src(recipe["source_package"])
        downloads.mkdir(parents=True, exist_ok=True)
        _run(["apt-get", "source", "--download-only", f"{recipe['source_package']}={recipe['source_version']}"],
             cwd=downloads)
    prefix = recipe["orig_tarball"].split("_", 1)[0] + "_"
    files = {p.name: cache.file_sha256(p) for p in sorted(downloads.iterdir())
             if p.is_file() and p.name.startswith(prefix)}
    if files.get(recipe["orig_tarball"]) != recipe["orig_sha256"]:
        raise WasiLspError(
            f"{recipe['orig_tarball']} has sha256 {files.get(recipe['orig_tarball'])}, "
            f"expected {recipe['orig_sha256']}",
            fix=f"delete {downloads} and build again; if it persists, the archive changed the tarball",
        )
    return {"package": recipe["source_package"], "version": recipe["source_version"], "files": files}


def collect_inputs(recipe: dict, source: dict, libraries: dict, toolchain: dict[str, str]) -> dict:
    entry = entry_dir() / ENTRY_SOURCE
    build_python = subprocess.run([recipe["build_python"], "-c", "import sys; print(sys.version.split()[0])"],
                                  capture_output=True, text=True).stdout.strip()
    return {
        "source": source,
        "libraries": libraries,
        "debian_packages": toolchain,
        "build_python": {"path": recipe["build_python"], "version": build_python},
        "cc": wasi_cc(Path("<work>/sysroot")),
        "opt": OPT,
        "configure_flags": list(CONFIGURE_FLAGS),
        "configure_cache": list(CONFIG_CACHE),
        "config_site": "Tools/wasm/config.site-wasm32-wasi",
        "entry_point": {"file": f"scripts/runtime/{ENTRY_SOURCE}", "sha256": cache.file_sha256(entry)},
        "entry_includes": {name: cache.file_sha256(entry_dir() / name) for name in ENTRY_INCLUDES},
        "source_patches": {name: cache.file_sha256(entry_dir() / name) for name in SOURCE_PATCHES},
        "library_builds": {name: {key: (list(value) if isinstance(value, tuple) else value)
                                  for key, value in lib.items() if key not in ("source_package", "source_version")}
                           for name, lib in LIBRARIES.items()},
        "compat_headers": {lib["compat_header"]: cache.file_sha256(entry_dir() / lib["compat_header"])
                           for lib in LIBRARIES.values() if "compat_header" in lib},
        "liblzma_config_h": hashlib.sha256(LIBLZMA_CONFIG.encode()).hexdigest(),
        "omitted_from_lib": list(OMIT_LIB),
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "build_date": "Modules/getbuildinfo.c DATE/TIME pinned to SOURCE_DATE_EPOCH",
        "getpath_vpath": f"{BUILD_PREFIX}/{recipe['source_dir']}",
    }


# -- build ----------------------------------------------------------------------------------


def build_env() -> dict[str, str]:
    """A pinned environment: nothing from the caller's shell reaches the compiler."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LC_ALL": "C",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "PYTHONHASHSEED": "0",
    }


def extract(recipe: dict, work: Path) -> Path:
    import tarfile  # with bz2 and lzma, 30 ms that every other CLI command would pay

    src = work / recipe["source_dir"]
    shutil.rmtree(src, ignore_errors=True)
    with tarfile.open(work / "debian-source" / recipe["orig_tarball"]) as archive:
        archive.extractall(work, filter="data") if hasattr(tarfile, "data_filter") else archive.extractall(work)
    return src


def make_sysroot(work: Path, log: Path, jobs: int = 1) -> Path:
    """wasi-libc from Debian plus the libraries built here, and nothing of the host's."""
    sysroot = work / "sysroot"
    shutil.rmtree(sysroot, ignore_errors=True)
    (sysroot / "include").mkdir(parents=True)
    (sysroot / "lib").mkdir()
    shutil.copytree("/usr/include/wasm32-wasi", sysroot / "include" / "wasm32-wasi")
    shutil.copytree("/usr/lib/wasm32-wasi", sysroot / "lib" / "wasm32-wasi")
    units: list[tuple[list[str], str]] = []  # (compile command, object) for every library, compiled together
    archives: list[tuple[dict, list[str]]] = []
    for lib in LIBRARIES.values():
        src = extract(lib, work)
        commands = LIBRARY_BUILDERS[lib["build"]](lib, src, sysroot, work, log)
        units += commands
        archives.append((lib, [obj for _, obj in commands]))
    _compile_all(units, jobs, log)
    for lib, objects in archives:
        _run(["llvm-ar", "rcsD", str(sysroot / "lib" / "wasm32-wasi" / lib["archive"]), *sorted(objects)],
             env=build_env(), log=log)
    return sysroot


def _compile_all(units: list[tuple[list[str], str]], jobs: int, log: Path) -> None:
    """Compile independent translation units ``jobs`` at a time (SQLite's one big file first)."""
    from concurrent.futures import ThreadPoolExecutor

    ordered = sorted(units, key=lambda unit: -Path(unit[0][-1]).stat().st_size)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(_run, command, env=build_env(), log=log) for command, _ in ordered]
        try:
            for future in futures:
                future.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)  # the first error is the one to show; don't compile the rest
            raise


def _units(lib: dict, sources: list[Path], src: Path, sysroot: Path, extra: tuple = ()) -> list[tuple[list[str], str]]:
    cc = wasi_cc(sysroot).split()
    return [([*cc, "-c", *lib["cflags"], *extra, "-o", str(src / f"{path.stem}.o"), str(path)],
             str(src / f"{path.stem}.o"))
            for path in sources]


def _copy_headers(src: Path, sysroot: Path, headers) -> None:
    for header in headers:
        shutil.copyfile(src / header, sysroot / "include" / "wasm32-wasi" / Path(header).name)


def _build_units(lib: dict, src: Path, sysroot: Path, work: Path, log: Path):
    """A library that is a flat list of C files (zlib, bzip2)."""
    _copy_headers(src, sysroot, lib["headers"])
    return _units(lib, [src / f"{unit}.c" for unit in lib["sources"]], src, sysroot)


def _build_liblzma(lib: dict, src: Path, sysroot: Path, work: Path, log: Path):
    """liblzma from xz-utils, with a fixed config.h instead of its configure script."""
    (src / "config.h").write_text(LIBLZMA_CONFIG)
    liblzma = src / "src" / "liblzma"
    dirs = ["api", "common", "check", "lz", "rangecoder", "lzma", "delta", "simple"]
    includes = ["-DHAVE_CONFIG_H", f"-I{src}", f"-I{src / 'src' / 'common'}", *(f"-I{liblzma / d}" for d in dirs)]
    sources = sorted(p for d in dirs[1:] for p in (liblzma / d).glob("*.c") if p.stem not in LIBLZMA_OMIT)
    sources.append(src / "src" / "common" / "tuklib_physmem.c")
    api = sysroot / "include" / "wasm32-wasi"
    shutil.copyfile(liblzma / "api" / "lzma.h", api / "lzma.h")
    shutil.copytree(liblzma / "api" / "lzma", api / "lzma")
    return _units(lib, sources, src, sysroot, tuple(includes))


def _build_sqlite(lib: dict, src: Path, sysroot: Path, work: Path, log: Path):
    """SQLite's amalgamation (made on the host by its own makefile and Tcl scripts), compiled as one unit."""
    generated = work / "sqlite-amalgamation"
    shutil.rmtree(generated, ignore_errors=True)
    generated.mkdir()
    _run(["make", "-s", "-f", str(src / "Makefile.linux-gcc"), f"TOP={src}", "BCC=clang", "TCC=clang",
          "sqlite3.c"], cwd=generated, env=build_env(), log=log)
    _copy_headers(generated, sysroot, ("sqlite3.h",))
    compat = entry_dir() / lib["compat_header"]
    return _units(lib, [generated / "sqlite3.c"], generated, sysroot, ("-include", str(compat)))


LIBRARY_BUILDERS = {"units": _build_units, "liblzma": _build_liblzma, "sqlite": _build_sqlite}


def pin_build_date(getbuildinfo: Path) -> None:
    """``sys.version`` shows __DATE__/__TIME__, and clang 14 ignores SOURCE_DATE_EPOCH for them."""
    stamp = time.gmtime(int(SOURCE_DATE_EPOCH))
    date = f"{time.strftime('%b', stamp)} {stamp.tm_mday:2d} {stamp.tm_year}"
    text = getbuildinfo.read_text()
    for macro, value in (("DATE", date), ("TIME", time.strftime("%H:%M:%S", stamp))):
        old = f"#define {macro} __{macro}__"
        if old not in text:
            raise WasiLspError(f"{getbuildinfo} has no '{old}' to pin", fix="update pin_build_date for this CPython")
        text = text.replace(old, f'#define {macro} "{value}"')
    getbuildinfo.write_text(text)


def pin_vpath(makefile: Path, source_dir: str) -> None:
    """getpath.c is compiled with ``-DVPATH`` = the absolute source path (for running from a build
    tree, which the guest never does); pinned, so python.wasm does not depend on the cache's path."""
    text = makefile.read_text()
    old = """-DVPATH='"$(VPATH)"'"""
    if old not in text:
        raise WasiLspError(f"{makefile} has no {old} to pin", fix="update pin_vpath for this CPython")
    makefile.write_text(text.replace(old, f"""-DVPATH='"{BUILD_PREFIX}/{source_dir}"'"""))


def compile_tree(recipe: dict, work: Path, log: Path, jobs: int, step=lambda text: None) -> Path:
    """Extract, configure and make in ``work``; return the build directory."""
    step(f"[1/4] C libraries for wasm32-wasi: {', '.join(LIBRARIES)}")
    sysroot = make_sysroot(work, log, jobs)
    src = extract(recipe, work)
    for patch in SOURCE_PATCHES:
        _run(["patch", "-p1", "--forward", "--no-backup-if-mismatch", "-i", str(entry_dir() / patch)],
             cwd=src, log=log)
    shutil.copyfile(entry_dir() / ENTRY_SOURCE, src / "Programs" / "python.c")
    for name in ENTRY_INCLUDES:
        shutil.copyfile(entry_dir() / name, src / "Programs" / name)
    pin_build_date(src / "Modules" / "getbuildinfo.c")
    build = work / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    env = {
        **build_env(),
        "CONFIG_SITE": str(src / "Tools/wasm/config.site-wasm32-wasi"),
        "CC": wasi_cc(sysroot),
        "CPP": f"{wasi_cc(sysroot)} -E",
        "AR": "llvm-ar",
        "RANLIB": "llvm-ranlib",
        "OPT": OPT,
        # Only the sysroot's pkg-config files (there are none): never the host's.
        "PKG_CONFIG_PATH": "",
        "PKG_CONFIG_LIBDIR": str(sysroot / "lib" / "pkgconfig"),
    }
    step("[2/4] configure CPython")
    _run([str(src / "configure"), *CONFIGURE_FLAGS, f"--with-build-python={recipe['build_python']}", *CONFIG_CACHE],
         cwd=build, env=env, log=log)
    pin_vpath(build / "Makefile", recipe["source_dir"])
    step(f"[3/4] make python.wasm (-j{jobs})")
    _run(["make", f"-j{jobs}", "python.wasm", "pybuilddir.txt"], cwd=build, env=env, log=log)
    return build


def assemble(recipe: dict, tag: str, build: Path, staging: Path, log: Path) -> None:
    """The release layout: python.wasm, lib/python3.X with the generated sysconfig data and bytecode."""
    src = build.parent / recipe["source_dir"]
    shutil.copyfile(build / "python.wasm", staging / "python.wasm")
    lib = staging / "lib" / f"python{tag}"
    shutil.copytree(src / "Lib", lib, ignore=shutil.ignore_patterns("__pycache__"))
    for omitted in OMIT_LIB:
        shutil.rmtree(lib / omitted, ignore_errors=True)
    pybuilddir = build / (build / "pybuilddir.txt").read_text().strip()
    for generated in pybuilddir.glob("_sysconfigdata*.py"):
        shutil.copyfile(generated, lib / generated.name)
    (lib / "lib-dynload").mkdir(exist_ok=True)
    # Bytecode made by the build Python (same 3.11.2, same magic), hash-based so it
    # neither depends on file times nor goes stale behind a read-only mount.
    _run([recipe["build_python"], "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash",
          "-d", f"{GUEST_PREFIX}/lib/python{tag}", "-x", r"(lib2to3/tests|bad_coding|badsyntax)", str(lib)],
         env=build_env(), log=log)
    epoch = int(SOURCE_DATE_EPOCH)
    for path in sorted(staging.rglob("*"), reverse=True):
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def tree_sha256(root: Path) -> str:
    """One hash over a directory's relative paths and file contents."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(cache.file_sha256(path).encode() + b"\n")
    return h.hexdigest()


def output_hashes(root: Path, tag: str) -> dict[str, str]:
    return {
        "python.wasm": cache.file_sha256(root / "python.wasm"),
        f"lib/python{tag}": tree_sha256(root / "lib" / f"python{tag}"),
    }


def build(tag: str = "3.11", *, force: bool = False, jobs: int | None = None, verify_reproducible: bool = False,
          say=print) -> dict:
    """Build (or reuse) ``built:TAG`` and return its manifest."""
    if tag not in RECIPES:
        raise WasiLspError(f"wasi-lsp cannot build Python {tag}", fix=f"use --python {' or '.join(RECIPES)}")
    root = output_dir(tag)
    # The whole build, the up-to-date check included: two builds share one work tree.
    with cache.building(root, f"built:{tag}"):
        return _build(tag, root, force=force, jobs=jobs, verify_reproducible=verify_reproducible, say=say)


def _build(tag: str, root: Path, *, force: bool, jobs: int | None, verify_reproducible: bool, say) -> dict:
    recipe = RECIPES[tag]
    toolchain = ensure_toolchain()
    work = cache.cache_dir("runtimes-built") / f"work-{tag}"
    work.mkdir(parents=True, exist_ok=True)
    source = fetch_source(recipe, work)
    libraries = {name: fetch_source(lib, work) for name, lib in LIBRARIES.items()}
    inputs = collect_inputs(recipe, source, libraries, toolchain)
    manifest = read_manifest(tag)
    if (not force and manifest and manifest["inputs"] == inputs and (root / "python.wasm").is_file()
            and output_hashes(root, tag) == manifest["outputs"]):
        say(f"up to date: {root} (python.wasm sha256 {manifest['outputs']['python.wasm']})")
        return manifest
    jobs = jobs or os.cpu_count() or 1
    outputs, seconds = _build_once(recipe, tag, work, jobs, root, say)
    manifest = {"format": FORMAT, "tag": tag, "inputs": inputs, "outputs": outputs,
                "build_seconds": round(seconds, 1), "reproducible": None}
    cache.atomic_write_json(root / MANIFEST, manifest)
    if verify_reproducible:
        # From scratch again, in the same directory: the build path is itself an input
        # (sysconfigdata records it), so "same inputs" includes the same path.
        again = cache.cache_dir("runtimes-built") / f".{tag}-again"
        shutil.rmtree(again, ignore_errors=True)
        outputs_again, _ = _build_once(recipe, tag, work, jobs, again, say)
        shutil.rmtree(again, ignore_errors=True)
        manifest["reproducible"] = {"identical": outputs_again == outputs, "second_outputs": outputs_again}
    cache.atomic_write_json(root / MANIFEST, manifest)
    say(f"built: {root}\n  python.wasm sha256 {outputs['python.wasm']}\n  in {seconds:.0f} s")
    if manifest["reproducible"]:
        say(f"  second build identical: {manifest['reproducible']['identical']}")
    return manifest


def _build_once(recipe: dict, tag: str, work: Path, jobs: int, final: Path, say) -> tuple[dict, float]:
    started = time.monotonic()
    log = work / "build.log"
    log.write_text("")
    say(f"building CPython {tag} for wasm32-wasi in {work} (log: {log}); this takes minutes")

    def step(text: str) -> None:
        say(f"  {text} ({time.monotonic() - started:.0f} s)")

    build_dir = compile_tree(recipe, work, log, jobs, step)
    with cache.staged(final, replace=True) as staging:
        step("[4/4] lib/ and bytecode")
        assemble(recipe, tag, build_dir, staging, log)
        outputs = output_hashes(staging, tag)
    return outputs, time.monotonic() - started
