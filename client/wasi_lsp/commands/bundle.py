"""``wasi-lsp bundle vscode [SERVER] --out DIR [--vsix]``."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from wasi_lsp.commands.options import add_server_target, sandbox_options
from wasi_lsp.errors import WasiLspError


def add_parser(sub) -> None:
    bundle = sub.add_parser("bundle", help="ship a language server as an editor extension")
    targets = bundle.add_subparsers(dest="bundle_target", required=True, metavar="EDITOR")
    vscode = targets.add_parser(
        "vscode", help="a VS Code extension (desktop and the Web) running the server on WASI Python",
    )
    sandbox_options(vscode)
    add_server_target(vscode)
    vscode.add_argument("--out", required=True, type=Path, metavar="DIR", help="the extension folder to write")
    vscode.add_argument("--vsix", action="store_true", help="also package it as NAME-VERSION.vsix beside DIR")
    vscode.add_argument("--version", dest="extension_version", metavar="X.Y.Z",
                        help="extension version (default: [project] version, else 0.1.0)")


def run(options) -> int:
    from wasi_lsp.bundle import vscode
    from wasi_lsp.commands.options import grants_from, project_config, server_args, server_target
    from wasi_lsp.env import ensure_env
    from wasi_lsp.overlay import guest_requirements
    from wasi_lsp.sandbox import parse_env

    project = project_config(options)
    server = server_target(options, project, "bundle", "wasi-lsp bundle vscode my_module:server --out DIR")
    if options.dir:
        raise WasiLspError(
            "--dir has no meaning in a bundle: VS Code mounts only the extension and the workspace folder",
            fix="drop --dir; ship data the server needs inside its package",
        )
    ignored = [flag for flag, value in (("--host", options.host), ("--max-memory", options.max_memory),
                                        ("--timeout", options.timeout),
                                        ("--print-capabilities", options.print_capabilities))
               if value]
    if ignored:
        raise WasiLspError(
            f"{', '.join(ignored)} has no meaning in a bundle: VS Code's WASI host runs it, with its own limits",
            fix=f"drop {', '.join(ignored)}",
        )
    grants = grants_from(options, project, guest_requirements(server))
    log = lambda text: print(f"wasi-lsp: {text}", file=sys.stderr)  # noqa: E731
    # "default" names whatever the default is, so it may be swapped like no choice at all.
    chosen = (options.runtime or project.get("runtime") or os.environ.get("WASI_LSP_RUNTIME") or "default") != "default"
    grants = dataclasses.replace(grants, runtime=vscode.runtime_for_vscode(grants.runtime, chosen=chosen, log=log))
    manifest = vscode.manifest_from(project, server, options.extension_version or _project_version(project))
    args = server_args(server, [], lambda: ensure_env(grants.requirements, grants.runtime).console_scripts())
    search = [p for p in (Path.cwd(), project.root) if p is not None]
    built = vscode.build(
        server=server, target_args=args, requirements=grants.requirements, runtime=grants.runtime,
        manifest=manifest, out=options.out, search=search, extra_env=parse_env(grants.env), vsix=options.vsix,
        log=log,
    )
    print(f"extension: {built.out}  ({built.files} files, {_mib(built.size)})")
    for name, size in built.parts.items():
        print(f"  {name:<18} {_mib(size)}")
    if built.vsix:
        print(f"vsix: {built.vsix}  ({_mib(built.vsix.stat().st_size)})")
    return 0


def _project_version(project) -> str:
    if project.root is None:
        return "0.1.0"
    from wasi_lsp.config import tomllib

    data = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data.get("project", {}).get("version") or "0.1.0")


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"
