# mkPythonWASIShell: a devShell whose `python` is the WASI runtime under the
# wasmtime CLI, with the chosen Python packages and nothing else granted
# unless asked for.
#
# The package set is the nixpkgs one for the runtime's Python version
# (python312Packages for 3.12), so pyPackages may be a function of it, as with
# python.withPackages; dependencies are collected transitively with
# requiredPythonModules. Only pure-Python packages can work in the guest.
{
  lib,
  stdenv,
  pkgs,
  mkShell,
  writeShellScriptBin,
  wasmtime,
  util-linux,
  bash,
  python-wasi,
  wasiLib,
}:
{
  # A list of packages, or a function from the package set to one (ps: [ ps.pygls ]).
  pyPackages ? [ ],
  # Host directories the guest may see: "/abs/dir" or { host; guest ? host; readOnly ? readOnly; }.
  mounts ? [ ],
  # The guest's whole environment besides PYTHONPATH; nothing is inherited.
  env ? { },
  # Default for mounts. The wasmtime CLI has no read-only --dir, so read-only
  # mounts outside the (immutable) store are enforced in a user+mount
  # namespace, and the wrapper refuses to run where it cannot make one.
  readOnly ? true,
  # Host-side tools to put in the shell as well.
  packages ? [ ],
  name ? "python-wasi",
}:
let
  ps =
    pkgs.${python-wasi.packageSet}
      or (throw "wasi-lsp: this nixpkgs has no ${python-wasi.packageSet} for the runtime's Python ${python-wasi.pythonVersion}\n  fix: use a nixpkgs that still ships Python ${python-wasi.pythonVersion}");
  chosen = if builtins.isFunction pyPackages then pyPackages ps else pyPackages;
  foreign = builtins.filter (p: !(ps.hasPythonModule p)) chosen;
  closure = lib.remove ps.python (ps.requiredPythonModules chosen);
  sitePackages = map (p: "${p}/${python-wasi.sitePackages}") closure;

  wrapper = wasiLib.wrapper {
    wasmtime = "${wasmtime}/bin/wasmtime";
    wasm = "${python-wasi}/${python-wasi.wasm}";
    # unshare, mount and sh for read-only mounts (user namespaces are Linux-only).
    binPath = lib.optionals stdenv.hostPlatform.isLinux [
      "${util-linux}/bin"
      "${bash}/bin"
    ];
    inherit
      sitePackages
      mounts
      env
      readOnly
      ;
  };
  python = writeShellScriptBin "python" wrapper.script;
in
if ps.python.sitePackages != python-wasi.sitePackages then
  throw "wasi-lsp: ${python-wasi.packageSet} installs into ${ps.python.sitePackages}, the runtime reads ${python-wasi.sitePackages}\n  fix: use a nixpkgs whose ${python-wasi.packageSet} matches the runtime"
else if foreign != [ ] then
  throw "wasi-lsp: pyPackages holds ${toString (map (p: p.name or "?") foreign)}, not built for Python ${python-wasi.pythonVersion}\n  fix: take them from ${python-wasi.packageSet} (pyPackages = ps: [ ps.NAME ])"
else
  mkShell {
    inherit name;
    packages = [ python ] ++ packages;
    passthru = {
      inherit python sitePackages;
      inherit (wrapper) argv;
    };
  }
