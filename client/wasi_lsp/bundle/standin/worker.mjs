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

const DENY = () => wasi.ERRNO_PERM;

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
	preopens.push(new PreopenDirectory(scratch.mountPoint, tree.contents));
	place(scratch.mountPoint, tree);
}
preopens.push(new ReadOnlyPreopen('/', rootEntries));

const fds = [new BlockingStdin(), new PostedOutput('stdout'), new PostedOutput('stderr'), ...preopens];
const env = Object.entries(workerData.env).map(([key, value]) => `${key}=${value}`);
// debug must be off explicitly: the shim logs to stdout, which is the LSP stream.
const runtime = new WASI([workerData.programName, ...workerData.args], env, fds, { debug: false });
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
