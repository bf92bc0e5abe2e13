// A stand-in for the `vscode` module, good enough to activate a bundled
// extension.js in plain node and record what it asks of VS Code.
//
// The parts the extension's launch depends on are concrete: Uri, workspace
// folders, the ms-vscode.wasm-wasi-core API (compile, createProcess,
// createMemoryFileSystem). Everything else is a recording proxy that accepts
// any call, so vscode-languageclient can construct itself; no behaviour of
// VS Code beyond that is imitated.
'use strict';

const path = require('node:path');

const calls = [];
let resolveProcess;
const processCreated = new Promise((resolve) => { resolveProcess = resolve; });

class Uri {
	constructor(scheme, authority, path_, query = '', fragment = '') {
		this.scheme = scheme;
		this.authority = authority;
		this.path = path_;
		this.query = query;
		this.fragment = fragment;
	}
	static file(fsPath) { return new Uri('file', '', path.posix.resolve(fsPath)); }
	static parse(value) {
		const url = new URL(value);
		return new Uri(url.protocol.slice(0, -1), url.host, decodeURIComponent(url.pathname), url.search.slice(1), url.hash.slice(1));
	}
	static joinPath(base, ...segments) { return base.with({ path: path.posix.join(base.path, ...segments) }); }
	get fsPath() { return this.path; }
	with(change) {
		return new Uri(change.scheme ?? this.scheme, change.authority ?? this.authority, change.path ?? this.path,
			change.query ?? this.query, change.fragment ?? this.fragment);
	}
	toString() { return `${this.scheme}://${this.authority}${encodeURI(this.path)}`; }
	toJSON() { return this.toString(); }
}

/** Accepts any property access, call or construction, and records calls. */
function recorder(name) {
	const target = function () {};
	return new Proxy(target, {
		get(_t, key) {
			if (key === 'then') { return undefined; }
			if (key === Symbol.toPrimitive) { return () => `[${name}]`; }
			if (key === Symbol.iterator) { return function* () {}; }
			if (typeof key === 'symbol') { return undefined; }
			if (key === 'prototype') { return target.prototype; }
			return recorder(`${name}.${key}`);
		},
		apply(_t, _this, args) {
			calls.push({ call: name, args: args.map(describe) });
			return recorder(`${name}()`);
		},
		construct(_t, args) {
			calls.push({ call: `new ${name}`, args: args.map(describe) });
			return recorder(`new ${name}`);
		},
	});
}

function describe(value) {
	if (value instanceof Uri) { return value.toString(); }
	if (typeof value === 'function') { return '[function]'; }
	if (value === null || typeof value !== 'object') { return value; }
	try {
		return JSON.parse(JSON.stringify(value, (_k, v) => (v instanceof Uri ? v.toString() : typeof v === 'bigint' ? v.toString() : v)));
	} catch {
		return '[object]';
	}
}

function relative(name) {
	if (name.startsWith('/')) {
		throw new Error(`ENOENT: no such directory / (MemoryFileSystem takes names relative to the mount, got ${name})`);
	}
	return name;
}

const state = { extensionPath: undefined, workspacePath: undefined };

/** The v1 API object wasm-wasi-core hands to Wasm.load(). */
const wasmApi = {
	versions: { api: 1, extension: '1.0.2' },
	async compile(uri) {
		calls.push({ call: 'wasm.compile', args: [uri.toString()] });
		return { compiledFrom: uri };
	},
	async createMemoryFileSystem() {
		const created = { files: [], directories: [] };
		calls.push({ call: 'wasm.createMemoryFileSystem', args: [] });
		return {
			recorded: created,
			// As wasm-wasi-core's MemoryFileSystem: names are relative to the mount.
			createFile(file) { created.files.push(relative(file)); },
			createDirectory(dir) { created.directories.push(relative(dir)); },
		};
	},
	createProcess(name, module, memoryOrOptions, maybeOptions) {
		const options = maybeOptions ?? memoryOrOptions;
		calls.push({ call: 'wasm.createProcess', args: [name, describe(module), describe(options)] });
		resolveProcess({ name, module, options });
		// The stand-in runs the process itself; the extension's client waits forever.
		return new Promise(() => {});
	},
};

const vscode = new Proxy({
	// vscode-languageclient checks that VS Code is new enough for it.
	version: '1.95.0',
	Uri,
	extensions: {
		getExtension(id) {
			calls.push({ call: 'extensions.getExtension', args: [id] });
			return id === 'ms-vscode.wasm-wasi-core' ? { id, activate: async () => wasmApi } : undefined;
		},
	},
	workspace: new Proxy({
		get workspaceFolders() {
			calls.push({ call: 'workspace.workspaceFolders', args: [] });
			return state.workspacePath === undefined ? undefined
				: [{ uri: Uri.file(state.workspacePath), name: path.basename(state.workspacePath), index: 0 }];
		},
	}, { get: (t, key) => (key in t ? t[key] : recorder(`workspace.${String(key)}`)) }),
}, { get: (t, key) => (key in t ? t[key] : key === 'then' ? undefined : recorder(String(key))) });

/** The ExtensionContext VS Code passes to activate(). */
function extensionContext(extensionPath) {
	state.extensionPath = extensionPath;
	return new Proxy({
		extensionUri: Uri.file(extensionPath),
		extensionPath,
		globalStorageUri: Uri.file(path.join(extensionPath, '.global-storage')),
		subscriptions: [],
		toJSON: () => '[ExtensionContext]',
	}, { get: (t, key) => (key in t ? t[key] : key === 'then' ? undefined : recorder(`context.${String(key)}`)) });
}

/** Make require('vscode') return this stub for everything loaded afterwards. */
function install(workspacePath) {
	state.workspacePath = workspacePath;
	const Module = require('node:module');
	const resolve = Module._resolveFilename;
	Module._resolveFilename = function (request, ...rest) {
		return request === 'vscode' ? __filename : resolve.call(this, request, ...rest);
	};
	require.cache[__filename].exports = vscode;
	return { calls, processCreated, extensionContext, Uri };
}

module.exports = { install };
