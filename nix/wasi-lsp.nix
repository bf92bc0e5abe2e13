# wasi-lsp itself, built from this checkout.
#
# Its dependencies are read from pyproject.toml, so the Nix package cannot
# drift from the Python one: each requirement is the nixpkgs package of that
# name, except the pinned wheels from python-wheels.nix.
{
  lib,
  python3Packages,
  pinnedWheels,
  wasiLib,
  src,
}:
let
  project = (builtins.fromTOML (builtins.readFile (src + "/pyproject.toml"))).project;
  dependency =
    name:
    pinnedWheels.${name}
      or python3Packages.${name}
      or (throw "wasi-lsp: pyproject.toml requires ${name}, which this nixpkgs lacks\n  fix: add it to nix/python-wheels.nix");
in
python3Packages.buildPythonApplication {
  pname = project.name;
  inherit (project) version;
  pyproject = true;
  inherit src;

  build-system = with python3Packages; [
    setuptools
    wheel
  ];
  dependencies = map dependency (wasiLib.requirementNames project.dependencies);

  # nixpkgs moves its versions on its own schedule; the pins that matter
  # (runtime, wasmtime) come from python-wheels.nix at the exact version.
  pythonRelaxDeps = true;

  # The test suite starts WASI guests under several hosts and installs guest
  # packages from PyPI; it runs in CI, not in the Nix build sandbox.
  doCheck = false;
  pythonImportsCheck = [
    "wasi_lsp"
    "wasi_lsp_guest"
  ];

  meta = {
    inherit (project) description;
    license = lib.licenses.asl20;
    mainProgram = "wasi-lsp";
  };
}
