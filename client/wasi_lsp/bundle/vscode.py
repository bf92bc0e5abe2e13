"""Build a VS Code extension folder (and ``.vsix``) that runs a pygls server on WASI Python.

Layout of the folder::

    package.json            manifest (publisher, name, languages, main + browser)
    README.md
    dist/extension.js       desktop extension host (esbuild bundle of extension/src)
    dist/web/extension.js   VS Code for the Web
    wasm/python.wasm        the runtime
    wasm/env/  + env.dir.json      guest site-packages, mounted read-only at /wasi-lsp/env
    wasm/guest/ + guest.dir.json   wasi-lsp's guest layer and the server code, at /wasi-lsp/guest

Mounts are read-only in VS Code, so all bytecode is compiled here by the
guest's own Python; the ``.dir.json`` listings are written last, because
VS Code for the Web sees exactly what they list and nothing else.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wasi_lsp.bundle import preopens, prune, toolchain
from wasi_lsp.env import GUEST_ENV, GUEST_SITE, ensure_env
from wasi_lsp.errors import WasiLspError
from wasi_lsp.overlay import GUEST_OVERLAY, GUEST_PACKAGES, ensure_overlay
from wasi_lsp.runtime import Runtime, runtime_env
from wasi_lsp.shipped_servers import SHIPPED_SERVERS

#: vscode-languageclient 10.x (pinned through @vscode/wasm-wasi-lsp) needs this VS Code.
ENGINE = "^1.91.0"
WASI_CORE = "ms-vscode.wasm-wasi-core"
#: The built runtime a bundle takes when the resolved one cannot start in VS Code.
BUILT_FOR_VSCODE = "built:3.11"
#: Where wasm-wasi-core mounts a single workspace folder.
WORKSPACE = "/workspace"
#: Manifest defaults for the servers wasi-lsp ships; [tool.wasi-lsp] keys win.
KNOWN_SERVERS = {name: server.vscode for name, server in SHIPPED_SERVERS.items()}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: Marks a folder as ours, so a rebuild may replace it.
MARKER = ".wasi-lsp-bundle"


@dataclass(frozen=True)
class Manifest:
    publisher: str
    name: str
    display_name: str
    version: str
    languages: tuple[dict, ...]
    repository: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class Built:
    out: Path
    files: int
    size: int
    parts: dict[str, int]
    vsix: Path | None = None


def manifest_from(project, server: str, version: str) -> Manifest:
    package = server.split(":", 1)[0].split(".", 1)[0]
    defaults = KNOWN_SERVERS.get(package, {})

    def get(key):
        return project.get(key, defaults.get(key))

    publisher = get("publisher")
    if not publisher:
        raise WasiLspError(
            "a VS Code extension needs a publisher",
            fix='set publisher = "your-publisher-id" in [tool.wasi-lsp] of pyproject.toml',
        )
    name = get("name") or package.replace("_", "-").lower()
    for key, value in (("publisher", publisher), ("name", name)):
        if not _NAME.match(value):
            raise WasiLspError(
                f"[tool.wasi-lsp] {key} = {value!r} is not a valid VS Code extension {key}",
                fix="use lowercase letters, digits and dashes only, e.g. my-server",
            )
    languages = tuple(_language(item) for item in (get("languages") or []))
    if not languages:
        raise WasiLspError(
            f"no languages for {server}: the extension would never activate",
            fix='set languages = ["python"] (or tables like { id = "rst", extensions = [".rst"] }) in [tool.wasi-lsp]',
        )
    return Manifest(
        publisher=publisher, name=name, display_name=get("display-name") or name, version=version,
        languages=languages, repository=get("repository"), license=get("license"),
    )


def _language(item) -> dict:
    if isinstance(item, str):
        return {"id": item}
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return dict(item)
    raise WasiLspError(
        f"[tool.wasi-lsp] languages: cannot read {item!r}",
        fix='give language ids ("python") or tables with an id ({ id = "rst", extensions = [".rst"] })',
    )


def package_json(manifest: Manifest) -> dict:
    data: dict = {
        "name": manifest.name,
        "displayName": manifest.display_name,
        "description": f"{manifest.display_name}, a Python language server running on WASI Python",
        "publisher": manifest.publisher,
        "version": manifest.version,
        "engines": {"vscode": ENGINE},
        "categories": ["Programming Languages"],
        "main": "./dist/extension.js",
        "browser": "./dist/web/extension.js",
        "extensionDependencies": [WASI_CORE],
        "activationEvents": [f"onLanguage:{lang['id']}" for lang in manifest.languages],
    }
    contributed = [lang for lang in manifest.languages if len(lang) > 1]
    if contributed:
        data["contributes"] = {"languages": contributed}
    if manifest.repository:
        data["repository"] = {"type": "git", "url": manifest.repository}
    if manifest.license:
        data["license"] = manifest.license
    return data


def launch(manifest: Manifest, runtime: Runtime, args: list[str], extra_env: dict[str, str]) -> dict:
    """What the extension passes to createProcess; esbuild bakes it into extension.js."""
    env = {
        **runtime_env(runtime),
        "PYTHONPATH": GUEST_OVERLAY,
        "PYTHONDONTWRITEBYTECODE": "1",
        "WASI_LSP_SITE": GUEST_SITE,
        "WASI_LSP_CWD": WORKSPACE,
        "TMPDIR": "/tmp",
        # Used as is: wasm-wasi-core's Node host deletes through the trash, which code-server
        # refuses, so tempfile's write-then-unlink probe of /tmp fails there (bootstrap).
        "WASI_LSP_TEMPDIR": "/tmp",
        # wasm-wasi-core's poll_oneoff reports stdin readable when it is not (see pygls_adapter.channel).
        "WASI_LSP_STDIN_POLL": "unreliable",
        **extra_env,
    }
    mounts = [
        {"path": "wasm/env", "mountPoint": GUEST_ENV},
        {"path": "wasm/guest", "mountPoint": GUEST_OVERLAY},
    ]
    if runtime.stdlib:
        mounts.insert(0, {"path": "wasm/stdlib", "mountPoint": runtime.stdlib_guest})
    return {
        "id": manifest.name,
        "name": manifest.display_name,
        "wasm": "wasm/python.wasm",
        "args": args,
        "env": env,
        "mounts": mounts,
        # Names relative to the mount: MemoryFileSystem.createFile("/null") fails with ENOENT.
        "scratch": [{"mountPoint": "/dev", "files": ["null"]}],
        # Writable, in the extension's storage; without it tempfile falls back to the workspace.
        "temp": ["/tmp"],
        "languages": [lang["id"] for lang in manifest.languages],
    }


def runtime_for_vscode(resolved: Runtime, *, chosen: bool, log=print) -> Runtime:
    """The runtime the bundle ships: the resolved one, unless it cannot start in VS Code.

    A runtime that walks the preopens twice (wasi-vfs, see :mod:`preopens`) exits 71
    under wasm-wasi-core. When it came from the default resolution, the bundle takes
    the runtime built from source instead; when the user named it, it is refused.
    """
    if not preopens.walks_preopens_twice(resolved):
        return resolved
    cause = (f"the runtime {resolved.name} cannot start in VS Code: it embeds its standard library with "
             "wasi-vfs, which walks the preopened directories before wasi-libc walks them again, and VS Code's "
             "WASI host (ms-vscode.wasm-wasi-core) allows one walk, so python.wasm would exit 71 at start")
    fix = (f"build the runtime from source once (wasi-lsp runtime build, minutes) and bundle with it: "
           f"--runtime {BUILT_FOR_VSCODE}, or runtime = \"{BUILT_FOR_VSCODE}\" in [tool.wasi-lsp]")
    if chosen:
        raise WasiLspError(cause, fix=fix)
    from wasi_lsp.runtime_resolve import resolve

    try:
        built = resolve(BUILT_FOR_VSCODE)
    except WasiLspError:
        raise WasiLspError(cause, fix=fix) from None
    log(f"the default runtime cannot start in VS Code (wasi-vfs walks the preopens twice); using {built.name}")
    return built


def _server_sources(target: str, env_site: Path, search: list[Path]) -> list[Path]:
    """Host files that hold the server's top-level module, when neither the overlay nor the env has it."""
    top = target.split(":", 1)[0].split(".", 1)[0]
    if top in GUEST_PACKAGES or (env_site / top).is_dir() or (env_site / f"{top}.py").is_file():
        return []
    for root in search:
        for candidate in (root / top, root / f"{top}.py", root / "src" / top, root / "src" / f"{top}.py"):
            if candidate.is_dir() and (candidate / "__init__.py").is_file() or candidate.is_file():
                return [candidate]
    raise WasiLspError(
        f"cannot find the module {top!r} of server {target!r} to put in the bundle",
        fix="run from the project that holds it (module.py or package/ at its root or in src/), "
            "or add the distribution that provides it to requirements",
    )


def _prepare_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise WasiLspError(
            f"{out} exists, is not empty and is not a wasi-lsp bundle; refusing to overwrite it",
            fix="pass an empty or new --out directory",
        )
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARKER).write_text("built by wasi-lsp bundle vscode\n")


def build(*, server: str, target_args: list[str], requirements: list[str], runtime: Runtime, manifest: Manifest,
          out: Path, search: list[Path], extra_env: dict[str, str], vsix: bool, log=print) -> Built:
    out = out.resolve()
    tools = toolchain.ensure_toolchain()
    _prepare_out(out)
    wasm = out / "wasm"
    wasm.mkdir()
    log(f"runtime: {runtime.name}")
    shutil.copy2(runtime.wasm, wasm / "python.wasm")
    if runtime.stdlib:
        prune.copy_tree(runtime.stdlib, wasm / "stdlib", python_tag=runtime.tag)

    env = ensure_env(requirements, runtime)
    log(f"environment: {len(env.metadata()['installed'])} distributions")
    prune.copy_tree(env.site, wasm / "env" / "lib" / "python", python_tag=runtime.tag)

    guest = wasm / "guest"
    overlay = ensure_overlay(runtime)
    wanted = {"wasi_lsp_guest", target_args[2].split(":", 1)[0].split(".", 1)[0]}
    for entry in overlay.iterdir():
        if entry.name in GUEST_PACKAGES and entry.name not in wanted:
            continue
        prune.copy_entry(entry, guest / entry.name, python_tag=runtime.tag)
    sources = _server_sources(target_args[2], env.site, search)
    for source in sources:
        prune.copy_entry(source, guest / source.name, python_tag=runtime.tag)
    if sources:
        from wasi_lsp.bytecode import compile_bytecode

        compile_bytecode(runtime, guest, guest_dir=GUEST_OVERLAY)

    (out / "package.json").write_text(json.dumps(package_json(manifest), indent=2) + "\n")
    (out / "README.md").write_text(_readme(manifest, server))
    (out / ".vscodeignore").write_text(f"{MARKER}\n")
    # The template's scripts run from a private copy inside the toolchain (so node
    # finds its node_modules) that concurrent builds do not share.
    with tempfile.TemporaryDirectory(dir=tools, prefix=".build-") as tmp:
        work = Path(tmp)
        for name in ("build.mjs", "secrets.mjs", "src"):
            source = toolchain.TEMPLATE / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, work / name)
        launch_file = work / "launch.json"
        launch_file.write_text(json.dumps(launch(manifest, runtime, target_args, extra_env)))
        toolchain.run_node([str(work / "build.mjs"), str(out / "dist"), str(launch_file)], what="esbuild")

        # Last: the listings must describe the folders exactly as shipped.
        for folder in ("stdlib", "env", "guest"):
            if (wasm / folder).is_dir():
                dir_dump(tools, wasm / folder)

        built_vsix = package_vsix(tools, work, out, manifest) if vsix else None
    parts = {name: prune.tree_size(out / name)
             for name in ("wasm/python.wasm", "wasm/stdlib", "wasm/env", "wasm/guest", "dist")
             if (out / name).exists()}
    files = [p for p in out.rglob("*") if p.is_file()]
    return Built(out=out, files=len(files), size=sum(p.stat().st_size for p in files), parts=parts, vsix=built_vsix)


def dir_dump(tools: Path, folder: Path) -> Path:
    listing = folder.with_name(folder.name + ".dir.json")
    script = toolchain.bin_script(tools, "@vscode/wasm-wasi", "bin/dir-dump")
    toolchain.run_node([script, "--out", str(listing), str(folder)], what=f"dir-dump {folder.name}")
    return listing


def scan_secrets(work: Path, out: Path) -> None:
    """vsce's secret rules over what the author wrote; third-party files and python.wasm are not scanned."""
    own = [out / "package.json", out / "README.md", *sorted((out / "dist").rglob("*.js"))]
    own += [p for p in sorted((out / "wasm" / "guest").rglob("*")) if p.is_file() and p.suffix != ".pyc"]
    toolchain.run_node([str(work / "secrets.mjs"), *map(str, own)], what="secret scan of the server code",
                       fix="remove the secret from the server's files; a published extension is public")


def package_vsix(tools: Path, work: Path, out: Path, manifest: Manifest) -> Path:
    vsix = out.parent / f"{manifest.name}-{manifest.version}.vsix"
    script = toolchain.bin_script(tools, "@vscode/vsce", "vsce")
    scan_secrets(work, out)
    flags = ["--no-dependencies", "--skip-license", "--allow-missing-repository", "--allow-package-all-secrets",
             "--out", str(vsix)]
    if manifest.license:
        flags.remove("--skip-license")
    if manifest.repository:
        flags.remove("--allow-missing-repository")
    toolchain.run_node([script, "package", *flags], what="vsce package", cwd=out)
    return vsix


def _readme(manifest: Manifest, server: str) -> str:
    languages = ", ".join(lang["id"] for lang in manifest.languages)
    return (
        f"# {manifest.display_name}\n\n"
        f"The Python language server `{server}` for {languages}, running on CPython compiled to "
        "WebAssembly (WASI), in VS Code on the desktop and in VS Code for the Web.\n\n"
        f"Requires the WASM WASI Core extension (`{WASI_CORE}`), which VS Code installs with this one.\n\n"
        "Built with `wasi-lsp bundle vscode`.\n"
    )
