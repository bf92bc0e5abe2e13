// The guest side of the stand-in host: runs python.wasm under the pure-JS
// WASI of @bjorn3/browser_wasi_shim in a worker thread, with the file system
// VS Code's wasm-wasi-core would give it:
//   - extension mounts are read-only and resolved from their dir.json
//     listings (a file missing from the listing does not exist; any write,
//     create or delete is EPERM; contents are read lazily, as over the Web);
//   - the workspace folder at /workspace and in-memory scratch directories
//     are writable (writes stay in memory);
//   - a virtual, read-only "/" holds the mount points;
//   - stdin is a pipe read with blocking reads: the worker asks the main
//     thread for bytes and sleeps in Atomics.wait until they arrive.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const shim = await import(pathToFileURL(join(workerData.nodeModules, '@bjorn3/browser_wasi_shim', 'dist', 'index.js')).href);
const { WASI, WASIProcExit, Fd, File, Directory, OpenDirectory, PreopenDirectory, wasi } = shim;

// ---- read-only mounts from dir.json listings --------------------------------

/** A listed file: its size comes from the listing, its bytes from disk on first read. */
class ListedFile extends File {
	constructor(hostPath, size) {
		super(new Uint8Array(0), { readonly: true });
		this.hostPath = hostPath;
		this.listedSize = BigInt(size);
		this.loaded = undefined;
	}
	get data() {
		if (this.loaded === undefined && this.hostPath !== undefined) {
			this.loaded = new Uint8Array(readFileSync(this.hostPath));
		}
		return this.loaded ?? new Uint8Array(0);
	}
	set data(_value) {
		// Only the base constructor assigns; the file never changes.
	}
	get size() {
		return this.listedSize;
	}
}

// Directory rights, as wasm-wasi-core grants them: everything on writable
// mounts, everything but writing on read-only ones. (wasi-libc's access()
// checks them, so R_OK/W_OK answers depend on it.)
const ALL_RIGHTS = Object.keys(wasi).filter((key) => key.startsWith('RIGHTS_')).reduce((all, key) => all | BigInt(wasi[key]), 0n);
const WRITE_RIGHTS = ['FD_WRITE', 'FD_DATASYNC', 'FD_ALLOCATE', 'FD_FILESTAT_SET_SIZE', 'FD_FILESTAT_SET_TIMES',
	'PATH_CREATE_DIRECTORY', 'PATH_CREATE_FILE', 'PATH_FILESTAT_SET_SIZE', 'PATH_FILESTAT_SET_TIMES', 'PATH_LINK_SOURCE',
	'PATH_LINK_TARGET', 'PATH_REMOVE_DIRECTORY', 'PATH_RENAME_SOURCE', 'PATH_RENAME_TARGET', 'PATH_SYMLINK',
	'PATH_UNLINK_FILE'].reduce((all, name) => all | BigInt(wasi[`RIGHTS_${name}`]), 0n);

function directoryStat(readOnly) {
	const fdstat = new wasi.Fdstat(wasi.FILETYPE_DIRECTORY, 0);
	fdstat.fs_rights_base = fdstat.fs_rights_inherited = readOnly ? ALL_RIGHTS & ~WRITE_RIGHTS : ALL_RIGHTS;
	return { ret: wasi.ERRNO_SUCCESS, fdstat };
}
// The shim reports no rights at all, which makes access() deny everything.
OpenDirectory.prototype.fd_fdstat_get = () => directoryStat(false);

/** Applies VS Code's read-only rules to an open directory class. */
function readOnly(Base) {
	return class extends Base {
		path_open(dirflags, path, oflags, rightsBase, rightsInheriting, fdFlags) {
			const { ret } = this.path_lookup(path, dirflags);
			if (ret !== wasi.ERRNO_SUCCESS) {
				return { ret: ret === wasi.ERRNO_NOENT && (oflags & wasi.OFLAGS_CREAT) ? wasi.ERRNO_PERM : ret, fd_obj: null };
			}
			const writeRights = BigInt(wasi.RIGHTS_FD_WRITE | wasi.RIGHTS_FD_DATASYNC | wasi.RIGHTS_FD_ALLOCATE | wasi.RIGHTS_FD_FILESTAT_SET_SIZE);
			if ((oflags & wasi.OFLAGS_TRUNC) || (fdFlags & (wasi.FDFLAGS_APPEND | wasi.FDFLAGS_SYNC)) || (BigInt(rightsBase) & writeRights)) {
				return { ret: wasi.ERRNO_PERM, fd_obj: null };
			}
			const opened = super.path_open(dirflags, path, oflags & ~wasi.OFLAGS_CREAT, rightsBase, rightsInheriting, fdFlags);
			if (opened.fd_obj instanceof OpenDirectory && !(opened.fd_obj instanceof ReadOnlyOpenDirectory)) {
				opened.fd_obj = new ReadOnlyOpenDirectory(opened.fd_obj.dir);
			}
			return opened;
		}
		fd_fdstat_get() { return directoryStat(true); }
		fd_write() { return { ret: wasi.ERRNO_PERM, nwritten: 0 }; }
		path_create_directory() { return wasi.ERRNO_PERM; }
		path_link() { return wasi.ERRNO_PERM; }
		path_unlink() { return { ret: wasi.ERRNO_PERM, inode_obj: null }; }
		path_unlink_file() { return wasi.ERRNO_PERM; }
		path_remove_directory() { return wasi.ERRNO_PERM; }
		path_rename() { return wasi.ERRNO_PERM; }
		path_filestat_set_times() { return wasi.ERRNO_PERM; }
		path_symlink() { return wasi.ERRNO_PERM; }
	};
}
const ReadOnlyOpenDirectory = readOnly(OpenDirectory);
const ReadOnlyPreopen = readOnly(PreopenDirectory);

class ListedDirectory extends Directory {
	path_open() {
		return { ret: wasi.ERRNO_SUCCESS, fd_obj: new ReadOnlyOpenDirectory(this) };
	}
}

/** The tree of a dir-dump listing, files backed by hostDir. */
function fromListing(node, hostDir) {
	const entries = new Map();
	for (const [name, child] of Object.entries(node.children)) {
		const hostPath = join(hostDir, name);
		entries.set(name, child.kind === 'directory' ? fromListing(child, hostPath) : new ListedFile(hostPath, child.size));
	}
	return new ListedDirectory(entries);
}

// ---- writable mounts --------------------------------------------------------

/** A writable in-memory copy of a host folder (the workspace). */
function copyTree(hostDir) {
	const entries = new Map();
	for (const name of readdirSync(hostDir)) {
		const hostPath = join(hostDir, name);
		const stat = statSync(hostPath);
		if (stat.isDirectory()) {
			entries.set(name, copyTree(hostPath));
		} else if (stat.isFile()) {
			entries.set(name, new File(readFileSync(hostPath)));
		}
	}
	return new Directory(entries);
}

// ---- stdio ------------------------------------------------------------------

const control = new Int32Array(workerData.stdin.control);
const stdinData = new Uint8Array(workerData.stdin.data);

/** fd 0: a pipe; each read blocks until the main thread hands over bytes (0 bytes: EOF). */
class BlockingStdin extends Fd {
	fd_fdstat_get() {
		return { ret: 0, fdstat: new wasi.Fdstat(wasi.FILETYPE_CHARACTER_DEVICE, 0) };
	}
	fd_read(size) {
		Atomics.store(control, 0, 0);
		parentPort.postMessage({ kind: 'read', size: Math.min(size, stdinData.length) });
		Atomics.wait(control, 0, 0);
		const n = Atomics.load(control, 1);
		return { ret: 0, data: stdinData.slice(0, n) };
	}
}

/** fd 1 and 2: every write goes to the main thread, in order. */
class PostedOutput extends Fd {
	constructor(stream) {
		super();
		this.stream = stream;
	}
	fd_fdstat_get() {
		return { ret: 0, fdstat: new wasi.Fdstat(wasi.FILETYPE_CHARACTER_DEVICE, 0) };
	}
	fd_write(data) {
		parentPort.postMessage({ kind: this.stream, data: data.slice() });
		return { ret: 0, nwritten: data.byteLength };
	}
}

// ---- poll_oneoff: clocks and fd readiness, as select() needs -------------------

// control[2] changes whenever the main thread's stdin buffer does; control[3] is
// the bytes it holds, control[4] is 1 once stdin has ended.
const SUBSCRIPTION = 48;
const EVENT = 32;

function now(clock) {
	return clock === wasi.CLOCKID_REALTIME ? BigInt(Date.now()) * 1000000n : BigInt(Math.round(performance.now() * 1e6));
}

/**
 * poll_oneoff exactly as wasm-wasi-core 1.0.2 answers it (src/common/service.ts):
 * it sleeps for the clock subscription's timeout (an absolute one counts as
 * max(0, now - deadline), so it never sleeps), then reports every subscription
 * as an event, fd_read with the bytes available, which may be 0. So select()
 * on stdin always says readable, and a read after it blocks until input comes.
 */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function pollOneoff(inPtr, outPtr, count, neventsPtr) {
	let view = new DataView(runtime.inst.exports.memory.buffer);
	const subscriptions = [];
	let timeout;
	for (let i = 0; i < count; i++) {
		const base = inPtr + i * SUBSCRIPTION;
		const sub = { userdata: view.getBigUint64(base, true), tag: view.getUint8(base + 8) };
		if (sub.tag === wasi.EVENTTYPE_CLOCK) {
			const clock = view.getUint32(base + 16, true);
			const value = view.getBigUint64(base + 24, true);
			const absolute = (view.getUint16(base + 40, true) & wasi.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
			const elapsed = now(clock) - value;
			timeout = absolute ? (elapsed > 0n ? elapsed : 0n) : value;
		} else {
			sub.fd = view.getUint32(base + 16, true);
		}
		subscriptions.push(sub);
	}
	if (timeout !== undefined && timeout !== 0n) {
		Atomics.wait(sleepCell, 0, 0, Number(timeout / 1000000n));
	}
	view = new DataView(runtime.inst.exports.memory.buffer);
	subscriptions.forEach((sub, i) => {
		const base = outPtr + i * EVENT;
		const nbytes = sub.tag === wasi.EVENTTYPE_FD_READ && sub.fd === 0 ? BigInt(Atomics.load(control, 3)) : 0n;
		new Uint8Array(view.buffer, base, EVENT).fill(0);
		view.setBigUint64(base, sub.userdata, true);
		view.setUint16(base + 8, 0, true);
		view.setUint8(base + 10, sub.tag);
		view.setBigUint64(base + 16, nbytes, true);
	});
	view.setUint32(neventsPtr, subscriptions.length, true);
	return wasi.ERRNO_SUCCESS;
}

// ---- the process ------------------------------------------------------------

const preopens = [];
const rootEntries = new Map();
function place(mountPoint, directory) {
	const parts = mountPoint.split('/').filter(Boolean);
	let entries = rootEntries;
	for (const part of parts.slice(0, -1)) {
		if (!entries.has(part)) {
			entries.set(part, new ListedDirectory(new Map()));
		}
		entries = entries.get(part).contents;
	}
	entries.set(parts[parts.length - 1], directory);
}
for (const mount of workerData.mounts) {
	const listing = JSON.parse(readFileSync(mount.listing, 'utf-8'));
	const tree = fromListing(listing, mount.hostDir);
	preopens.push(new ReadOnlyPreopen(mount.mountPoint, tree.contents));
	place(mount.mountPoint, tree);
}
if (workerData.workspace) {
	const tree = copyTree(workerData.workspace.hostDir);
	preopens.push(new PreopenDirectory(workerData.workspace.mountPoint, tree.contents));
	place(workerData.workspace.mountPoint, tree);
}
for (const scratch of workerData.scratch) {
	const tree = new Directory(new Map(scratch.files.map((name) => [name, new File(new Uint8Array(0))])));
	preopens.push(new (scratch.readOnly ? ReadOnlyPreopen : PreopenDirectory)(scratch.mountPoint, tree.contents));
	place(scratch.mountPoint, tree);
}
preopens.push(new ReadOnlyPreopen('/', rootEntries));

const fds = [new BlockingStdin(), new PostedOutput('stdout'), new PostedOutput('stderr'), ...preopens];
const env = Object.entries(workerData.env).map(([key, value]) => `${key}=${value}`);
// debug must be off explicitly: the shim logs to stdout, which is the LSP stream.
const runtime = new WASI([workerData.programName, ...workerData.args], env, fds, { debug: false });
runtime.wasiImport.poll_oneoff = pollOneoff;
// wasm-wasi-core walks its preopens with one iterator: once a guest has reached the end
// (EBADF), asking again (fd 3) gets EINVAL. A runtime that walks them twice (wasi-vfs, then
// wasi-libc) exits 71 there, in VS Code and here.
const prestatGet = runtime.wasiImport.fd_prestat_get;
let prestatWalked = false;
runtime.wasiImport.fd_prestat_get = (fd, buf) => {
	if (prestatWalked) {
		return wasi.ERRNO_INVAL;
	}
	const ret = prestatGet(fd, buf);
	prestatWalked = ret === wasi.ERRNO_BADF;
	return ret;
};
const module = await WebAssembly.compile(readFileSync(workerData.wasm));
const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: runtime.wasiImport });
let code;
try {
	code = runtime.start(instance);
} catch (error) {
	if (error instanceof WASIProcExit) {
		code = error.code;
	} else {
		parentPort.postMessage({ kind: 'stderr', data: new TextEncoder().encode(`stand-in: guest trapped: ${error?.stack ?? error}\n`) });
		code = 134;
	}
}
parentPort.postMessage({ kind: 'exit', code });
