# The WASI Python toolchain for Nix users: `nix develop ./nix` from a checkout.
#
# Everything that decides what the guest is granted is in ./lib.nix (plain
# builtins, tested offline); this file only wires it to nixpkgs.
{
  description = "wasi-lsp: CPython for WASI under wasmtime, with mkPythonWASIShell";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      wasiLib = import ./lib.nix;

      # The pinned wasmtime-py wheels exist for these; see pins in lib.nix.
      systems = builtins.attrNames wasiLib.pins.wasmtime-py.wheels;

      # Everything for one nixpkgs instance; the caller's own `pkgs` works too.
      toolchain =
        pkgs:
        let
          python-wasi = pkgs.callPackage ./python-wasi.nix { inherit wasiLib; };
          pinnedWheels = pkgs.python3Packages.callPackage ./python-wheels.nix { inherit python-wasi wasiLib; };
        in
        {
          inherit python-wasi;
          inherit (pkgs) wasmtime;
          wasi-lsp = pkgs.callPackage ./wasi-lsp.nix {
            inherit pinnedWheels wasiLib;
            src = ../.;
          };
          mkPythonWASIShell = pkgs.callPackage ./mk-python-wasi-shell.nix { inherit python-wasi wasiLib; };
        };

      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f (toolchain nixpkgs.legacyPackages.${system}));
    in
    {
      # lib.mkPythonWASIShell { pkgs, pyPackages ? [], mounts ? [], env ? {}, readOnly ? true, packages ? [] }:
      # `pkgs` is the caller's nixpkgs for their system (flake lib is system-independent);
      # legacyPackages.<system>.mkPythonWASIShell is the same function with ours.
      lib = wasiLib // {
        mkPythonWASIShell = { pkgs, ... }@args: (toolchain pkgs).mkPythonWASIShell (removeAttrs args [ "pkgs" ]);
      };

      packages = forAllSystems (t: {
        inherit (t) python-wasi wasmtime wasi-lsp;
        default = t.wasi-lsp;
      });

      legacyPackages = forAllSystems (t: {
        inherit (t) mkPythonWASIShell;
      });

      devShells = forAllSystems (t: {
        default = t.mkPythonWASIShell {
          name = "wasi-lsp";
          pyPackages = ps: [ ps.pygls ];
          packages = [
            t.wasi-lsp
            t.wasmtime
          ];
        };
      });
    };
}
