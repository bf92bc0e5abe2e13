// The guest side of wasi-lsp's Node host: runs one RunSpec under node:wasi.
//
// Invoked as `node --no-warnings node_runner.mjs SPEC_JSON`, where SPEC_JSON is
// {wasm, argv, env, mounts: [{host, guest, read_only}], max_memory, timeout}.
// stdio is the process's own (uvwasi reads and writes fds 0-2 directly), so
// streaming is as interactive as on the other hosts.
//
// node:wasi has no read-only preopens, no memory limit and no timeout, and it
// lets a symlinked directory inside a mount lead out of it, so this file adds:
//  - confinement: every path argument is resolved on the host and must stay
//    inside its mount (see confine()).
//  - blocking stdio after select (see keepBlocking()).
//  - read-only: before the guest's first WASI call, every read-only preopen
//    drops its write rights with fd_fdstat_set_rights. uvwasi checks rights on
//    every call and files opened below a preopen inherit at most its rights, so
//    writes, creates, deletes, renames, links and time changes under a
//    read-only mount fail with ENOTCAPABLE, as WASI intends.
//  - memory: the module's memory section gets a maximum, so memory.grow past
//    --max-memory returns -1 and malloc fails (MemoryError in Python) instead
//    of the host running out of memory.
//  - wall clock: the guest runs in a worker thread; when the limit fires the
//    main thread says so on stderr and ends the process (node.py reports 124,
//    what the other hosts use).

import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const ERROR_EXIT_CODE = 2;
const PAGE = 65536;

// WASI preview1 rights that change something: dropped on read-only preopens.
const WRITE_RIGHTS = [
  0,  // fd_datasync
  6,  // fd_write
  8,  // fd_allocate
  9,  // path_create_directory
  10, // path_create_file
  11, // path_link_source
  12, // path_link_target
  16, // path_rename_source
  17, // path_rename_target
  19, // path_filestat_set_size
  20, // path_filestat_set_times
  22, // fd_filestat_set_size
  23, // fd_filestat_set_times
  24, // path_symlink
  25, // path_remove_directory
  26, // path_unlink_file
].reduce((mask, bit) => mask | (1n << BigInt(bit)), 0n);

// A problem with the spec: reported as one line, the way the CLI reports errors.
class SpecError extends Error {}

function fail(message) {
  throw new SpecError(message);
}

function report(error) {
  const text = String(error && error.message ? error.message : error).split('\n')[0];
  const message = error instanceof SpecError || (error && error.spec) ? text : `the guest trapped: ${text}`;
  process.stderr.write(`wasi-lsp: error: ${message}\n`);
  process.exit(ERROR_EXIT_CODE);
}

function readLeb(bytes, offset) {
  let result = 0, shift = 0, byte;
  do {
    byte = bytes[offset++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, offset];
}

function writeLeb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}

// Give the module's (only) defined memory a maximum of `maxBytes`.
function limitMemory(bytes, maxBytes) {
  const maxPages = Math.floor(maxBytes / PAGE);
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset];
    const [size, body] = readLeb(bytes, offset + 1);
    if (id === 5) {
      let [count, p] = readLeb(bytes, body);
      if (count !== 1) fail(`the module defines ${count} memories; --max-memory supports exactly one on node`);
      const flags = bytes[p++];
      if (flags & ~1) fail(`the module's memory has flags ${flags} (shared or 64-bit); --max-memory cannot limit it on node`);
      let min, max = Infinity;
      [min, p] = readLeb(bytes, p);
      if (flags & 1) [max, p] = readLeb(bytes, p);
      if (maxPages < min) {
        fail(`--max-memory ${maxBytes} bytes is below the ${min * PAGE} bytes the runtime needs to start`);
      }
      const content = [1, 1, ...writeLeb(min), ...writeLeb(Math.min(max, maxPages))];
      const section = Buffer.from([5, ...writeLeb(content.length), ...content]);
      return Buffer.concat([bytes.subarray(0, offset), section, bytes.subarray(body + size)]);
    }
    offset = body + size;
  }
  fail('the module imports its memory; --max-memory is not supported for it on node');
}

const ERRNO_NOTCAPABLE = 76;
const LOOKUP_SYMLINK_FOLLOW = 1;

// Resolve symlinks the way the kernel will, for a path that may not exist yet
// (a file about to be created): the longest existing prefix is resolved.
function resolveHost(hostPath, followLast) {
  const parent = path.dirname(hostPath);
  if (!followLast) {
    return parent === hostPath ? hostPath : path.join(resolveHost(parent, true), path.basename(hostPath));
  }
  try {
    return realpathSync(hostPath);
  } catch {
    return parent === hostPath ? hostPath : path.join(resolveHost(parent, true), path.basename(hostPath));
  }
}

function inside(root, candidate) {
  return candidate === root || candidate.startsWith(root.endsWith('/') ? root : root + '/');
}

// uvwasi stops `..` and a symlink in the last path component from leaving a
// preopen, but lets the kernel follow a symlinked *directory* in the middle of
// a path (mount/link-to-outside/secret). Every path argument is therefore
// resolved on the host and must stay under the real path of the preopen it
// descends from, else the call fails with ENOTCAPABLE before uvwasi sees it.
// Directory fds opened below a preopen remember that preopen's root.
function confine(wasi, preopenRoots, getMemory) {
  const fds = new Map(); // fd -> {root, dir}: real paths
  preopenRoots.forEach((root, index) => fds.set(3 + index, { root, dir: root }));
  const text = (ptr, len) => Buffer.from(getMemory().buffer, ptr, len).toString('utf8');
  const target = (fd, ptr, len, followLast) => {
    const entry = fds.get(fd);
    if (!entry) return { ok: true }; // not a directory we handed out: uvwasi refuses it itself
    const resolved = resolveHost(path.resolve(entry.dir, text(ptr, len)), followLast);
    return { ok: inside(entry.root, resolved), resolved, root: entry.root };
  };
  const guard = (name, checks) => {
    const original = wasi[name];
    wasi[name] = (...args) => (checks(args).every((c) => c.ok) ? original(...args) : ERRNO_NOTCAPABLE);
  };
  const follow = (flags) => (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
  guard('path_create_directory', ([fd, p, n]) => [target(fd, p, n, false)]);
  guard('path_filestat_get', ([fd, flags, p, n]) => [target(fd, p, n, follow(flags))]);
  guard('path_filestat_set_times', ([fd, flags, p, n]) => [target(fd, p, n, follow(flags))]);
  guard('path_link', ([fd, flags, p, n, fd2, p2, n2]) => [target(fd, p, n, follow(flags)), target(fd2, p2, n2, false)]);
  guard('path_readlink', ([fd, p, n]) => [target(fd, p, n, false)]);
  guard('path_remove_directory', ([fd, p, n]) => [target(fd, p, n, false)]);
  guard('path_rename', ([fd, p, n, fd2, p2, n2]) => [target(fd, p, n, false), target(fd2, p2, n2, false)]);
  guard('path_symlink', ([, , fd, p, n]) => [target(fd, p, n, false)]);
  guard('path_unlink_file', ([fd, p, n]) => [target(fd, p, n, false)]);

  const pathOpen = wasi.path_open;
  wasi.path_open = (fd, dirflags, p, n, oflags, base, inheriting, fdflags, out) => {
    const check = target(fd, p, n, follow(dirflags));
    if (!check.ok) return ERRNO_NOTCAPABLE;
    const errno = pathOpen(fd, dirflags, p, n, oflags, base, inheriting, fdflags, out);
    if (errno === 0 && check.root) {
      const opened = new DataView(getMemory().buffer).getUint32(out, true);
      fds.set(opened, { root: check.root, dir: check.resolved });
    }
    return errno;
  };
  const close = wasi.fd_close;
  wasi.fd_close = (fd) => {
    const errno = close(fd);
    if (errno === 0) fds.delete(fd);
    return errno;
  };
  const renumber = wasi.fd_renumber;
  wasi.fd_renumber = (from, to) => {
    const errno = renumber(from, to);
    if (errno === 0) {
      if (fds.has(from)) fds.set(to, fds.get(from));
      else fds.delete(to);
      fds.delete(from);
    }
    return errno;
  };
}

const ERRNO_AGAIN = 6;
const FDFLAGS_NONBLOCK = 4;
const EVENTTYPE_FD_READ = 1;
const EVENTTYPE_FD_WRITE = 2;

// Keep blocking fds blocking. uvwasi's poll_oneoff (behind Python's select)
// watches an fd with libuv, which switches the fd to O_NONBLOCK and leaves it
// so: the guest's next plain read of stdin then fails with EAGAIN, which a
// language server takes for a closed client. A read or write that the guest
// never asked to be non-blocking therefore waits in poll_oneoff until the fd
// is ready and is retried, as a blocking call would have waited.
function keepBlocking(wasi, getMemory) {
  const nonblocking = new Set(); // fds the guest itself made non-blocking
  const waitFor = (fd, type) => {
    // subscription at 0 (48 bytes), event at 48 (32), nevents at 80: guest
    // memory borrowed and restored, as the guest is suspended in this call.
    const saved = new Uint8Array(getMemory().buffer, 0, 88).slice();
    try {
      const view = new DataView(getMemory().buffer);
      new Uint8Array(getMemory().buffer, 0, 88).fill(0);
      view.setUint8(8, type);
      view.setUint32(16, fd, true);
      return wasi.poll_oneoff(0, 48, 1, 80);
    } finally {
      new Uint8Array(getMemory().buffer, 0, 88).set(saved);
    }
  };
  for (const [name, type] of [['fd_read', EVENTTYPE_FD_READ], ['fd_write', EVENTTYPE_FD_WRITE]]) {
    const original = wasi[name];
    wasi[name] = (fd, ...rest) => {
      for (;;) {
        const errno = original(fd, ...rest);
        if (errno !== ERRNO_AGAIN || nonblocking.has(fd)) return errno;
        const polled = waitFor(fd, type);
        if (polled !== 0) return polled;
      }
    };
  }
  const setFlags = wasi.fd_fdstat_set_flags;
  wasi.fd_fdstat_set_flags = (fd, flags) => {
    const errno = setFlags(fd, flags);
    if (errno === 0) (flags & FDFLAGS_NONBLOCK ? nonblocking.add(fd) : nonblocking.delete(fd));
    return errno;
  };
  const pathOpen = wasi.path_open;
  wasi.path_open = (fd, dirflags, p, n, oflags, base, inheriting, fdflags, out) => {
    const errno = pathOpen(fd, dirflags, p, n, oflags, base, inheriting, fdflags, out);
    if (errno === 0) {
      const opened = new DataView(getMemory().buffer).getUint32(out, true);
      (fdflags & FDFLAGS_NONBLOCK ? nonblocking.add(opened) : nonblocking.delete(opened));
    }
    return errno;
  };
}

// Wrap the WASI imports: confine paths to their mounts, and have read-only
// preopens drop their write rights before the guest's first WASI call (no
// guest code can touch a file earlier).
function wrapImports(imports, mounts, getMemory) {
  const wasi = { ...imports.wasi_snapshot_preview1 };
  const readOnlyFds = [];
  mounts.forEach((mount, index) => mount.read_only && readOnlyFds.push(3 + index)); // uvwasi numbers preopens from 3, in order
  const restrict = () => {
    const view = new DataView(getMemory().buffer);
    const scratch = new Uint8Array(getMemory().buffer, 0, 24).slice();
    try {
      for (const fd of readOnlyFds) {
        const errno = wasi.fd_fdstat_get(fd, 0);
        if (errno !== 0) throw new Error(`fd_fdstat_get(${fd}) failed with errno ${errno}`);
        const base = view.getBigUint64(8, true) & ~WRITE_RIGHTS;
        const inheriting = view.getBigUint64(16, true) & ~WRITE_RIGHTS;
        const result = wasi.fd_fdstat_set_rights(fd, base, inheriting);
        if (result !== 0) throw new Error(`fd_fdstat_set_rights(${fd}) failed with errno ${result}`);
      }
    } finally {
      new Uint8Array(getMemory().buffer, 0, 24).set(scratch);
    }
  };
  confine(wasi, mounts.map((mount) => realpathSync(mount.host)), getMemory);
  keepBlocking(wasi, getMemory);
  let restricted = false;
  const wrapped = {};
  for (const [name, fn] of Object.entries(wasi)) {
    wrapped[name] = (...args) => {
      if (!restricted) {
        restricted = true;
        restrict();
      }
      return fn(...args);
    };
  }
  return { ...imports, wasi_snapshot_preview1: wrapped };
}

async function runGuest(spec, onStart = () => {}) {
  let bytes = readFileSync(spec.wasm);
  if (spec.max_memory) bytes = limitMemory(bytes, spec.max_memory);
  const preopens = {};
  for (const mount of spec.mounts) {
    if (mount.guest in preopens) fail(`two mounts share the guest path ${mount.guest}`);
    preopens[mount.guest] = mount.host;
  }
  const wasi = new WASI({
    version: 'preview1',
    args: spec.argv,
    env: spec.env,
    preopens,
    returnOnExit: true,
  });
  const module = await WebAssembly.compile(bytes);
  let instance;
  const imports = wrapImports(wasi.getImportObject(), spec.mounts, () => instance.exports.memory);
  instance = await WebAssembly.instantiate(module, imports);
  onStart();
  return wasi.start(instance);
}

if (isMainThread) {
  const spec = JSON.parse(process.argv[2]);
  if (!spec.timeout) {
    runGuest(spec).then((code) => process.exit(code), report);
  } else {
    // stdout/stderr: true would route the worker's console through this
    // thread; the guest writes fds 1 and 2 directly, so leave them alone.
    const worker = new Worker(new URL(import.meta.url), { workerData: spec });
    // The limit counts from the guest's start, as on the other hosts: compiling
    // the module (slow on a loaded machine) is not the guest's time.
    // Node's exit waits for workers, and one blocked in a read never stops:
    // the process kills itself, and node.py reports the limit like every host.
    const expire = () => process.kill(process.pid, 'SIGKILL');
    worker.on('message', (message) => {
      if (message.started) {
        setTimeout(expire, spec.timeout * 1000).unref();
        return;
      }
      if (message.error) report(message.error);
      process.exit(message.code);
    });
    worker.on('error', report);
  }
} else {
  runGuest(workerData, () => parentPort.postMessage({ started: true })).then(
    (code) => parentPort.postMessage({ code }),
    (error) => parentPort.postMessage({ error: { message: String(error.message), spec: error instanceof SpecError } }),
  );
}
