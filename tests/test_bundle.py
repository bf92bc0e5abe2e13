"""``wasi-lsp bundle vscode``: the extension as built, checked without VS Code.

Bundles are built through the real CLI. They are then run by the stand-in
host (``client/wasi_lsp/bundle/standin``): the bundle's own ``extension.js``
is activated against a recording ``vscode`` stub, and the process it asks
wasm-wasi-core to create runs python.wasm under a pure-JavaScript WASI in a
worker, with read-only mounts resolved from the ``.dir.json`` listings and
stdin delivered by blocking reads. pytest-lsp drives it over stdio.

Node and npm are required: without them these tests fail, they do not skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from conftest import wasi_lsp
from wasi_lsp.bundle import toolchain


STANDIN = toolchain.STANDIN / "standin.mjs"
PYGLS = ["pygls>=2.1,<3", "lsprotocol>=2025.0.0"]
#: What rstls must report for the sample's errors.rst, natively, in WASI and in the bundle.
EXPECTED_ERRORS = [tuple(d) for d in json.loads(
    (Path(__file__).resolve().parent / "sample-docs" / "errors.expected.json").read_text())["diagnostics"]]

TINY_SERVER = '''\
"""A tiny pygls server: diagnostics for TODO lines, one completion, document symbols."""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("tiny-server", "v0.1")


def _lines(uri):
    return server.workspace.get_text_document(uri).source.splitlines()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(params):
    diagnostics = [
        types.Diagnostic(range=types.Range(types.Position(n, 0), types.Position(n, len(line))), message="TODO found")
        for n, line in enumerate(_lines(params.text_document.uri))
        if "TODO" in line
    ]
    server.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=diagnostics)
    )


@server.feature(types.TEXT_DOCUMENT_COMPLETION)
def completion(params):
    return [types.CompletionItem(label="tiny-keyword")]


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def symbols(params):
    found = []
    for n, line in enumerate(_lines(params.text_document.uri)):
        if line.startswith("# "):
            r = types.Range(types.Position(n, 0), types.Position(n, len(line)))
            found.append(types.DocumentSymbol(name=line[2:], kind=types.SymbolKind.Namespace, range=r, selection_range=r))
    return found
'''

#: Run as a "server" module: probes the file system VS Code would give it, then echoes stdin.
PROBE = '''\
import errno, json, os, sys

results = {}


def attempt(name, action):
    try:
        action()
        results[name] = "ok"
    except OSError as error:
        results[name] = errno.errorcode.get(error.errno, str(error.errno))


attempt("read_listed", lambda: open("/wasi-lsp/guest/probe.py").read())
attempt("read_unlisted", lambda: open("/wasi-lsp/guest/unlisted.txt").read())
attempt("append_listed", lambda: open("/wasi-lsp/guest/probe.py", "a"))
attempt("create_in_env", lambda: open("/wasi-lsp/env/new.txt", "w"))
attempt("mkdir_in_env", lambda: os.mkdir("/wasi-lsp/env/newdir"))
attempt("unlink_in_guest", lambda: os.remove("/wasi-lsp/guest/probe.py"))
attempt("write_tmp", lambda: open("/tmp/scratch.txt", "w").write("x"))
attempt("read_workspace", lambda: open("/workspace/notes.txt").read())
results["access"] = [os.access("/workspace/notes.txt", os.R_OK), os.access("/workspace/notes.txt", os.W_OK),
                     os.access("/wasi-lsp/guest/probe.py", os.R_OK), os.access("/wasi-lsp/guest/probe.py", os.W_OK)]
results["cwd"] = os.getcwd()
results["tempdir"] = __import__("tempfile").gettempdir()
results["dont_write_bytecode"] = sys.flags.dont_write_bytecode
results["probe_cached"] = __spec__.cached
results["stdin"] = sys.stdin.buffer.read().decode()
print(json.dumps(results))
'''


def _project(root: Path, server: str, requirements: list[str], files: dict[str, str], **table) -> Path:
    root.mkdir(parents=True)
    lines = ["[project]", 'name = "bundle-test"', 'version = "0.3.0"', "", "[tool.wasi-lsp]",
             f"server = {json.dumps(server)}", f"requirements = {json.dumps(requirements)}"]
    lines += [f"{key} = {value}" for key, value in table.items()]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def _build(project: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return wasi_lsp("bundle", "vscode", "--out", str(out), *extra, cwd=project, timeout=900)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return toolchain.ensure_toolchain() / "node_modules"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, node_modules) -> Path:
    base = tmp_path_factory.mktemp("tiny")
    project = _project(base / "project", "tiny_server:server", PYGLS, {"tiny_server.py": TINY_SERVER},
                       publisher='"wasi-lsp-tests"', name='"tiny-lsp"',
                       languages='[{ id = "tiny", extensions = [".tiny"] }]', license='"MIT"')
    proc = _build(project, base / "ext", "--vsix")
    assert proc.returncode == 0, proc.stderr
    return base


@pytest.fixture(scope="module")
def probe(tmp_path_factory, node_modules) -> Path:
    base = tmp_path_factory.mktemp("probe")
    project = _project(base / "project", "probe", [], {"probe.py": PROBE},
                       publisher='"wasi-lsp-tests"', languages='["plaintext"]')
    proc = _build(project, base / "ext")
    assert proc.returncode == 0, proc.stderr
    # On disk but not in the listing: VS Code for the Web cannot see it.
    (base / "ext" / "wasm" / "guest" / "unlisted.txt").write_text("hidden")
    workspace = base / "workspace"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("workspace notes")
    return base


def _standin(bundle: Path, workspace: Path, node_modules: Path, *, input: bytes = b"", flags=()):
    args = ["node", str(STANDIN), *flags, str(bundle), str(workspace)]
    return subprocess.run(args, input=input, capture_output=True, timeout=300,
                          env={**os.environ, "WASI_LSP_NODE_MODULES": str(node_modules)})


# ---- what is built ----------------------------------------------------------------------------


def test_manifest(tiny):
    manifest = json.loads((tiny / "ext" / "package.json").read_text())
    assert manifest["publisher"] == "wasi-lsp-tests"
    assert manifest["name"] == "tiny-lsp"
    assert manifest["version"] == "0.3.0"
    assert manifest["license"] == "MIT"
    assert manifest["engines"] == {"vscode": "^1.91.0"}
    assert manifest["extensionDependencies"] == ["ms-vscode.wasm-wasi-core"]
    assert manifest["activationEvents"] == ["onLanguage:tiny"]
    assert manifest["contributes"]["languages"] == [{"id": "tiny", "extensions": [".tiny"]}]
    for entry in ("main", "browser"):
        assert (tiny / "ext" / manifest[entry]).is_file(), entry


def test_listings_describe_the_shipped_folders_exactly(tiny):
    wasm = tiny / "ext" / "wasm"
    for folder in ("env", "guest"):
        listing = json.loads((wasm / f"{folder}.dir.json").read_text())

        def walk(node, prefix=""):
            for name, child in node["children"].items():
                if child["kind"] == "directory":
                    yield from walk(child, f"{prefix}{name}/")
                else:
                    yield f"{prefix}{name}", int(child["size"])

        listed = dict(walk(listing))
        on_disk = {p.relative_to(wasm / folder).as_posix(): p.stat().st_size
                   for p in (wasm / folder).rglob("*") if p.is_file()}
        assert listed == on_disk, folder


def _bytecode_tag() -> str:
    """cpython-3XY of the runtime a bundle ships (the built one where the resolved one cannot start in VS Code)."""
    from wasi_lsp.bundle.vscode import runtime_for_vscode
    from wasi_lsp.runtime_resolve import resolve

    major, minor = runtime_for_vscode(resolve(), chosen=False, log=lambda _text: None).python_version
    return f"cpython-{major}{minor}"


def test_bundle_leaves_out_clutter_and_ships_bytecode(tiny):
    env = tiny / "ext" / "wasm" / "env" / "lib" / "python"
    files = [p.relative_to(env) for p in env.rglob("*") if p.is_file()]
    assert not [f for f in files if f.name in ("RECORD", "INSTALLER", "WHEEL", "REQUESTED")]
    assert not [f for f in files if f.suffix == ".pyc" and f".{_bytecode_tag()}." not in f.name]
    assert not [f for f in files if "tests" in f.parts]
    assert (env / "pygls" / "__pycache__").is_dir()
    metadata = [f for f in files if f.parent.name.startswith("pygls-") and f.name == "METADATA"]
    assert metadata, "importlib.metadata needs METADATA"
    guest = tiny / "ext" / "wasm" / "guest"
    assert (guest / "tiny_server.py").is_file()
    assert list((guest / "__pycache__").glob(f"tiny_server.{_bytecode_tag()}.pyc"))
    assert not (guest / "rstls").exists(), "only the bundled server's package ships"


def test_vsix_holds_the_extension(tiny):
    vsix = tiny / "tiny-lsp-0.3.0.vsix"
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
    for name in ("extension/package.json", "extension/dist/extension.js", "extension/dist/web/extension.js",
                 "extension/wasm/python.wasm", "extension/wasm/env.dir.json", "extension/wasm/guest.dir.json",
                 "extension/wasm/guest/tiny_server.py"):
        assert name in names
    assert not [n for n in names if ".wasi-lsp-bundle" in n]
    assert vsix.stat().st_size < 40 << 20


# ---- the extension's calls into VS Code ----------------------------------------------------------


@pytest.mark.parametrize("entry", ["main", "browser"])
def test_extension_calls_wasm_wasi_core_as_documented(tiny, node_modules, entry):
    workspace = tiny / "project"
    flags = ["--print-launch", *(["--browser"] if entry == "browser" else [])]
    proc = _standin(tiny / "ext", workspace, node_modules, flags=flags)
    assert proc.returncode == 0, proc.stderr.decode()
    calls = json.loads(proc.stdout)["calls"]
    names = [c["call"] for c in calls]
    assert {"call": "extensions.getExtension", "args": ["ms-vscode.wasm-wasi-core"]} in calls
    compiled = [c for c in calls if c["call"] == "wasm.compile"]
    assert compiled == [{"call": "wasm.compile", "args": [(tiny / "ext" / "wasm" / "python.wasm").as_uri()]}]
    (create,) = [c for c in calls if c["call"] == "wasm.createProcess"]
    name, _module, options = create["args"]
    assert name == "python"
    assert options["args"] == ["-m", "wasi_lsp_guest.serve", "tiny_server:server"]
    assert options["env"]["PYTHONDONTWRITEBYTECODE"] == "1"
    assert options["env"]["PYTHONPATH"] == "/wasi-lsp/guest"
    assert options["env"]["WASI_LSP_SITE"] == "/wasi-lsp/env/lib/python"
    assert options["env"]["WASI_LSP_CWD"] == "/workspace"
    assert options["stdio"] == {"in": {"kind": "pipeIn"}, "out": {"kind": "pipeOut"}, "err": {"kind": "pipeOut"}}
    mounts = options["mountPoints"]
    assert {"kind": "workspaceFolder"} in mounts
    located = [(m["path"], m["mountPoint"]) for m in mounts if m["kind"] == "extensionLocation"]
    # The built runtime (the pinned one walks the preopens twice) with its stdlib beside it.
    assert located == [("wasm/stdlib", "/usr/local/lib/python3.11"), ("wasm/env", "/wasi-lsp/env"),
                       ("wasm/guest", "/wasi-lsp/guest")]
    assert options["env"]["PYTHONHOME"] == "/usr/local"
    assert options["env"]["WASI_LSP_STDIN_POLL"] == "unreliable"
    assert all(m["extension"] == "[ExtensionContext]" for m in mounts if m["kind"] == "extensionLocation")
    # /dev in memory (read-only to the guest); /tmp writable, in the extension's storage.
    assert [m["mountPoint"] for m in mounts if m["kind"] == "memoryFileSystem"] == ["/dev"]
    (temp,) = [m for m in mounts if m["kind"] == "vscodeFileSystem"]
    assert temp["mountPoint"] == "/tmp" and "/.global-storage/scratch/tmp-" in temp["uri"]
    assert options["env"]["TMPDIR"] == options["env"]["WASI_LSP_TEMPDIR"] == "/tmp"
    # createUriConverters() reads the workspace folders; the client is built around them.
    assert "workspace.workspaceFolders" in names
    assert names.index("workspace.workspaceFolders") < names.index("wasm.createProcess")
    # A log channel: vscode-languageclient 10 calls its error().
    (channel,) = [c for c in calls if c["call"] == "window.createOutputChannel"]
    assert channel["args"][1] == {"log": True}


# ---- the stand-in host: VS Code's file system rules ---------------------------------------------


def test_mounts_are_read_only_and_only_what_the_listing_says(probe, node_modules):
    proc = _standin(probe / "ext", probe / "workspace", node_modules, input=b"line one\nline two\n")
    assert proc.returncode == 0, proc.stderr.decode()
    results = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert results["read_listed"] == "ok"
    assert results["read_unlisted"] == "ENOENT"
    assert (probe / "ext" / "wasm" / "guest" / "unlisted.txt").is_file()
    assert results["append_listed"] == "EPERM"
    assert results["create_in_env"] == "EPERM"
    assert results["mkdir_in_env"] == "EPERM"
    assert results["unlink_in_guest"] == "EPERM"
    assert results["write_tmp"] == "ok"
    assert results["read_workspace"] == "ok"
    # access() follows the mount's rights: the workspace is writable, extension mounts are not.
    assert results["access"] == [True, True, True, False]
    assert results["cwd"] == "/workspace"
    # Temp files go to the writable /tmp, never into the user's workspace.
    assert results["tempdir"] == "/tmp"
    assert results["dont_write_bytecode"] == 1
    # stdin arrives through blocking reads, whole and in order, then EOF.
    assert results["stdin"] == "line one\nline two\n"


# ---- a pygls server end to end, through the bundle as built -----------------------------------


@pytest.fixture
async def tiny_client(tiny, node_modules, tmp_path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "doc.tiny").write_text("# Title\nplain\nTODO: fix\n# Second\n")
    config = ClientServerConfig(
        server_command=["node", str(STANDIN), str(tiny / "ext"), str(workspace)],
        server_env={**os.environ, "WASI_LSP_NODE_MODULES": str(node_modules)},
    )
    client = await config.start()
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        # What createUriConverters() turns the single workspace folder into.
        root_uri="file:///workspace",
        workspace_folders=[types.WorkspaceFolder(uri="file:///workspace", name="workspace")],
    ))
    yield client
    await client.shutdown_session()


async def test_tiny_server_through_the_bundle(tiny_client):
    uri = "file:///workspace/doc.tiny"
    text = "# Title\nplain\nTODO: fix\n# Second\n"
    tiny_client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="tiny", version=1, text=text)))
    await tiny_client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.message for d in tiny_client.diagnostics[uri]] == ["TODO found"]
    assert tiny_client.diagnostics[uri][0].range.start.line == 2

    items = await tiny_client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(1, 0)))
    labels = [i.label for i in (items.items if hasattr(items, "items") else items)]
    assert labels == ["tiny-keyword"]

    symbols = await tiny_client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert [s.name for s in symbols] == ["Title", "Second"]


# ---- bad input ------------------------------------------------------------------------------------


def test_missing_publisher_is_one_clear_error(tmp_path):
    project = _project(tmp_path / "p", "tiny_server:server", PYGLS, {"tiny_server.py": TINY_SERVER},
                       languages='["tiny"]')
    proc = _build(project, tmp_path / "ext")
    assert proc.returncode == 2
    assert "needs a publisher" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_refuses_to_overwrite_a_folder_that_is_not_a_bundle(tmp_path, node_modules):
    project = _project(tmp_path / "p", "tiny_server:server", PYGLS, {"tiny_server.py": TINY_SERVER},
                       publisher='"x"', languages='["tiny"]')
    out = tmp_path / "precious"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = _build(project, out)
    assert proc.returncode == 2
    assert "refusing to overwrite" in proc.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_unknown_server_module_is_one_clear_error(tmp_path, node_modules):
    project = _project(tmp_path / "p", "nowhere_server:server", PYGLS, {}, publisher='"x"', languages='["tiny"]')
    proc = _build(project, tmp_path / "ext")
    assert proc.returncode == 2
    assert "cannot find the module 'nowhere_server'" in proc.stderr


def test_a_secret_in_the_server_code_stops_packaging(tmp_path, node_modules):
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"  # built here so this file holds no token
    project = _project(tmp_path / "p", "tiny_server:server", PYGLS,
                       {"tiny_server.py": TINY_SERVER + f"\nTOKEN = {token!r}\n"}, publisher='"x"', languages='["tiny"]')
    proc = _build(project, tmp_path / "ext", "--vsix")
    assert proc.returncode == 2
    assert "secret scan of the server code failed" in proc.stderr and "GitHub" in proc.stderr
    assert not list(tmp_path.glob("*.vsix"))


def test_a_runtime_that_walks_the_preopens_twice_is_refused(tmp_path):
    # The pinned runtime, named by path: wasi-vfs walks the preopens, then wasi-libc again.
    from wasi_lsp.runtime_resolve import resolve

    pinned = resolve("pinned").wasm
    proc = wasi_lsp("bundle", "vscode", "rstls", "--runtime", str(pinned), "--out", str(tmp_path / "ext"),
                    cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode != 0
    assert "walks the preopened directories before wasi-libc walks them again" in proc.stderr
    assert "wasi-lsp runtime build" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "ext").exists()


def test_the_default_runtime_without_a_built_one_is_refused_with_the_fix(tmp_path):
    proc = wasi_lsp("bundle", "vscode", "rstls", "--out", str(tmp_path / "ext"),
                    cwd=Path(__file__).resolve().parent.parent, env={"WASI_LSP_CACHE_DIR": str(tmp_path / "cache"), "WASI_LSP_RUNTIME": ""})
    assert proc.returncode != 0
    assert "cannot start in VS Code" in proc.stderr and "--runtime built:3.11" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_node_names_the_fix(tmp_path, node_modules):
    project = _project(tmp_path / "p", "tiny_server:server", PYGLS, {"tiny_server.py": TINY_SERVER},
                       publisher='"x"', languages='["tiny"]')
    empty = tmp_path / "empty-path"
    empty.mkdir()
    proc = wasi_lsp("bundle", "vscode", "--out", str(tmp_path / "ext"), cwd=project, env={"PATH": str(empty)})
    assert proc.returncode == 2
    assert "`node` is not on PATH" in proc.stderr and "fix: install Node.js" in proc.stderr


# ---- rstls, the first bundled server: an end-to-end subset against the bundle as built -----------

SAMPLE = Path(__file__).resolve().parent / "sample-docs"
#: Sphinx loads inside `initialized`; under a pure-JavaScript WASI on a shared machine that is slow.
RSTLS_TIMEOUT = 300


@pytest.fixture(scope="module")
def rstls_bundle(tmp_path_factory, node_modules) -> Path:
    base = tmp_path_factory.mktemp("rstls")
    proc = wasi_lsp("bundle", "vscode", "rstls", "--out", str(base / "ext"), "--vsix",
                    cwd=Path(__file__).resolve().parent.parent, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    assert "vsix:" in proc.stdout
    return base


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rstls(rstls_bundle, node_modules, tmp_path_factory):
    import shutil

    workspace = tmp_path_factory.mktemp("rstls-ws") / "docs"
    shutil.copytree(SAMPLE, workspace, ignore=shutil.ignore_patterns("__pycache__"))
    config = ClientServerConfig(
        server_command=["node", str(STANDIN), str(rstls_bundle / "ext"), str(workspace)],
        server_env={**os.environ, "WASI_LSP_NODE_MODULES": str(node_modules)},
    )
    client = await config.start()
    await asyncio.wait_for(client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri="file:///workspace",
        workspace_folders=[types.WorkspaceFolder(uri="file:///workspace", name="docs")],
    )), RSTLS_TIMEOUT)
    for name in ("index.rst", "errors.rst"):
        uri = f"file:///workspace/{name}"
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="restructuredtext", version=1, text=(workspace / name).read_text())))
        await _published(client, uri)
    yield client
    await asyncio.wait_for(client.shutdown_session(), RSTLS_TIMEOUT)


async def _published(client, uri: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RSTLS_TIMEOUT
    while uri not in client.diagnostics:
        assert loop.time() < deadline, f"no diagnostics for {uri} within {RSTLS_TIMEOUT}s"
        await asyncio.sleep(0.05)


def test_rstls_manifest(rstls_bundle):
    manifest = json.loads((rstls_bundle / "ext" / "package.json").read_text())
    assert (manifest["publisher"], manifest["name"]) == ("wasi-lsp", "rstls")
    assert manifest["activationEvents"] == ["onLanguage:restructuredtext"]
    assert manifest["contributes"]["languages"][0]["extensions"] == [".rst"]
    assert (rstls_bundle / f"rstls-{manifest['version']}.vsix").is_file()
    guest = rstls_bundle / "ext" / "wasm" / "guest"
    assert (guest / "rstls" / "server.py").is_file()


@pytest.mark.asyncio(loop_scope="module")
async def test_rstls_diagnostics(rstls):
    got = sorted((d.range.start.line, d.range.start.character, d.range.end.character, d.message)
                 for d in rstls.diagnostics["file:///workspace/errors.rst"])
    assert got == EXPECTED_ERRORS
    assert list(rstls.diagnostics["file:///workspace/index.rst"]) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_rstls_completion(rstls):
    result = await rstls.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri="file:///workspace/errors.rst"), position=types.Position(3, 3)))
    assert {"note", "image", "toctree", "literalinclude", "py:function", "mynote"} <= {i.label for i in result.items}


@pytest.mark.asyncio(loop_scope="module")
async def test_rstls_document_symbols(rstls):
    result = await rstls.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri="file:///workspace/index.rst")))

    def tree(symbols):
        return [(s.name, s.range.start.line, tree(s.children or [])) for s in symbols]

    assert tree(result) == [("Welcome to Sample Docs", 2, [("Overview", 14, [("Details", 24, [])])])]
