// The stand-in for VS Code's WASI host: speaks LSP on stdio like a server.
//
//   node standin.mjs BUNDLE_DIR WORKSPACE_DIR          serve over stdin/stdout
//   node standin.mjs --print-launch BUNDLE_DIR WORKSPACE_DIR
//                                   print what the extension asked of VS Code
//   --browser                       use the bundle's VS Code for the Web entry
//
// It does not read the launch settings from anywhere but the bundle's own
// extension.js: that file is activated against a recording `vscode` stub,
// and the process it creates through wasm-wasi-core's createProcess (module,
// arguments, environment, mount points) is what runs, in worker.mjs.
// Needs WASI_LSP_NODE_MODULES: the node_modules holding @bjorn3/browser_wasi_shim.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function fail(message) {
	process.stderr.write(`stand-in: ${message}\n`);
	process.exit(2);
}

const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const [bundleArg, workspaceArg] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const printLaunch = flags.includes('--print-launch');
// --browser: activate the VS Code for the Web entry (package.json "browser") instead of "main".
const entry = flags.includes('--browser') ? 'browser' : 'main';
if (!bundleArg || !workspaceArg) {
	fail('usage: node standin.mjs [--print-launch] [--browser] BUNDLE_DIR WORKSPACE_DIR');
}
const bundle = resolve(bundleArg);
const workspace = resolve(workspaceArg);
const nodeModules = process.env.WASI_LSP_NODE_MODULES;
if (!printLaunch && !nodeModules) {
	fail('set WASI_LSP_NODE_MODULES to the node_modules that holds @bjorn3/browser_wasi_shim');
}

const stub = require('./vscode-stub.cjs').install(workspace);
const manifest = JSON.parse(readFileSync(join(bundle, 'package.json'), 'utf-8'));
const extension = require(join(bundle, manifest[entry]));
const activation = extension.activate(stub.extensionContext(bundle));
activation.catch((error) => fail(`activate() failed: ${error?.stack ?? error}`));
const timer = setTimeout(() => fail('the extension never called createProcess'), 30000);
const created = await stub.processCreated;
clearTimeout(timer);

if (printLaunch) {
	process.stdout.write(JSON.stringify({ manifest, calls: stub.calls }, null, 2));
	process.exit(0);
}

/** Where each mount point of the created process comes from, as wasm-wasi-core resolves it. */
function mountsOf(options) {
	const mounts = [];
	const scratch = [];
	let workspaceMount;
	for (const descriptor of options.mountPoints ?? []) {
		if (descriptor.kind === 'extensionLocation') {
			const hostDir = join(bundle, descriptor.path);
			mounts.push({ mountPoint: descriptor.mountPoint, hostDir, listing: `${hostDir}.dir.json` });
		} else if (descriptor.kind === 'workspaceFolder') {
			workspaceMount = { mountPoint: '/workspace', hostDir: workspace };
		} else if (descriptor.kind === 'memoryFileSystem') {
			// Read-only to the guest in wasm-wasi-core (creating or writing: EPERM).
			scratch.push({ mountPoint: descriptor.mountPoint, files: descriptor.fileSystem.recorded.files, readOnly: true });
		} else if (descriptor.kind === 'vscodeFileSystem') {
			scratch.push({ mountPoint: descriptor.mountPoint, files: [], readOnly: false });
		} else {
			fail(`mount kind ${descriptor.kind} is not supported by the stand-in`);
		}
	}
	return { mounts, scratch, workspace: workspaceMount };
}

const { options } = created;
const wasmUri = created.module.compiledFrom;
const control = new SharedArrayBuffer(32);
const data = new SharedArrayBuffer(64 * 1024);
const worker = new Worker(join(here, 'worker.mjs'), {
	workerData: {
		nodeModules,
		programName: created.name,
		wasm: wasmUri.fsPath,
		args: (options.args ?? []).map(String),
		env: options.env ?? {},
		...mountsOf(options),
		stdin: { control, data },
	},
	resourceLimits: { maxOldGenerationSizeMb: 1024 },
});

// stdin: buffered here, handed over only when the guest asks (a blocking read).
const controlView = new Int32Array(control);
const dataView = new Uint8Array(data);
let pending = [];
let ended = false;
let wanted = 0;
function serve() {
	if (wanted === 0) {
		return;
	}
	if (pending.length === 0 && !ended) {
		return;
	}
	let n = 0;
	while (pending.length > 0 && n < wanted) {
		const chunk = pending[0];
		const take = Math.min(chunk.length, wanted - n);
		dataView.set(chunk.subarray(0, take), n);
		n += take;
		if (take === chunk.length) {
			pending.shift();
		} else {
			pending[0] = chunk.subarray(take);
		}
	}
	wanted = 0;
	publish();
	Atomics.store(controlView, 1, n);
	Atomics.store(controlView, 0, 1);
	Atomics.notify(controlView, 0);
}
/** Tell the guest's poll_oneoff what stdin holds now (slots 3, 4) and wake it (slot 2). */
function publish() {
	const available = pending.reduce((sum, chunk) => sum + chunk.length, 0);
	Atomics.store(controlView, 3, Math.min(available, 2 ** 30));
	Atomics.store(controlView, 4, ended ? 1 : 0);
	Atomics.add(controlView, 2, 1);
	Atomics.notify(controlView, 2);
}
process.stdin.on('data', (chunk) => { pending.push(new Uint8Array(chunk)); publish(); serve(); });
process.stdin.on('end', () => { ended = true; publish(); serve(); });

worker.on('message', (message) => {
	if (message.kind === 'read') {
		wanted = message.size;
		serve();
	} else if (message.kind === 'stdout') {
		process.stdout.write(message.data);
	} else if (message.kind === 'stderr') {
		process.stderr.write(message.data);
	} else if (message.kind === 'exit') {
		process.exitCode = message.code;
		process.stdin.destroy();
		worker.terminate();
	}
});
worker.on('error', (error) => fail(`worker failed: ${error?.stack ?? error}`));
