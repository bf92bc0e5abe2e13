/*
 * The VS Code extension that `wasi-lsp bundle vscode` ships: it runs a pygls
 * server on WASI Python inside VS Code (desktop and the Web) through the
 * ms-vscode.wasm-wasi-core extension.
 *
 * Everything bundle-specific (arguments, environment, mounts, languages) is
 * decided by the Python side at build time and injected as LAUNCH by esbuild,
 * so this file never changes between servers and is tested once.
 */
import { ExtensionContext, Uri, window, workspace } from 'vscode';
import { Wasm, MountPointDescriptor, ProcessOptions } from '@vscode/wasm-wasi/v1';
import { createStdioOptions, startServer } from '@vscode/wasm-wasi-lsp';
// The browser build aliases this to vscode-languageclient/browser, whose
// LanguageClient takes the same (id, name, serverOptions, clientOptions).
import { LanguageClient, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';

interface Launch {
	/** Client id and the name shown in the UI. */
	id: string;
	name: string;
	/** python.wasm, relative to the extension folder. */
	wasm: string;
	/** argv after the program name (`python`). */
	args: string[];
	env: Record<string, string>;
	/** Read-only folders of the extension (each has a `<path>.dir.json` listing). */
	mounts: { path: string; mountPoint: string }[];
	/**
	 * In-memory directories with the empty files they must hold (names relative to the
	 * mount). wasm-wasi-core's memory file system is read-only to the guest.
	 */
	scratch: { mountPoint: string; files: string[] }[];
	/** Writable directories (e.g. /tmp): a fresh folder in the extension's storage per server start. */
	temp: string[];
	languages: string[];
}

declare const LAUNCH: Launch;

let client: LanguageClient | undefined;
/** The storage folders this window's server writes to; removed when it stops. */
const tempFolders: Uri[] = [];

export async function activate(context: ExtensionContext): Promise<void> {
	const wasm: Wasm = await Wasm.load();
	// A log channel: vscode-languageclient 10 calls its error()/warn()/info().
	const channel = window.createOutputChannel(LAUNCH.name, { log: true });
	const serverOptions: ServerOptions = async () => {
		const mountPoints: MountPointDescriptor[] = [{ kind: 'workspaceFolder' }];
		for (const mount of LAUNCH.mounts) {
			mountPoints.push({ kind: 'extensionLocation', extension: context, path: mount.path, mountPoint: mount.mountPoint });
		}
		for (const mountPoint of LAUNCH.temp) {
			// Not the workspace (the guest would fall back to writing its temp files there),
			// not a memory file system (read-only to the guest): the extension's own storage.
			const name = `${mountPoint.replace(/\W+/g, '')}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
			const uri = Uri.joinPath(context.globalStorageUri, 'scratch', name);
			await workspace.fs.createDirectory(uri);
			tempFolders.push(uri);
			mountPoints.push({ kind: 'vscodeFileSystem', uri, mountPoint });
		}
		for (const scratch of LAUNCH.scratch) {
			const fileSystem = await wasm.createMemoryFileSystem();
			for (const file of scratch.files) {
				fileSystem.createFile(file, new Uint8Array(0));
			}
			mountPoints.push({ kind: 'memoryFileSystem', fileSystem, mountPoint: scratch.mountPoint });
		}
		const options: ProcessOptions = {
			stdio: createStdioOptions(),
			args: LAUNCH.args,
			env: LAUNCH.env,
			mountPoints,
		};
		const module = await wasm.compile(Uri.joinPath(context.extensionUri, LAUNCH.wasm));
		const process = await wasm.createProcess('python', module, options);
		const decoder = new TextDecoder('utf-8');
		process.stderr?.onData((data) => channel.append(decoder.decode(data)));
		return startServer(process);
	};
	const clientOptions: LanguageClientOptions = {
		documentSelector: LAUNCH.languages.map((language) => ({ language })),
		outputChannel: channel,
		uriConverters: uriConverters(),
	};
	client = new LanguageClient(LAUNCH.id, LAUNCH.name, serverOptions, clientOptions);
	await client.start();
}

/**
 * Workspace URIs to the paths wasm-wasi-core mounts them at (/workspace, or
 * /workspace/<name> for several folders) and back. @vscode/wasm-wasi-lsp's
 * createUriConverters replaces the folder's URI as a plain string prefix, so a
 * folder at the root of its file system (URI ending in '/', as VS Code for the
 * Web's test server mounts one) turns errors.rst into file:///workspaceerrors.rst,
 * and the server's file:///workspace/errors.rst into <folder>//errors.rst: the
 * server's project-wide diagnostics (Sphinx's) never reach the open document.
 */
function uriConverters(): LanguageClientOptions['uriConverters'] {
	const folders = workspace.workspaceFolders ?? [];
	if (folders.length === 0) {
		return undefined;
	}
	const pairs = folders.map((folder) => ({
		code: folder.uri.toString().replace(/\/+$/, ''),
		protocol: folders.length === 1 ? 'file:///workspace' : `file:///workspace/${encodeURIComponent(folder.name)}`,
	}));
	const swap = (value: string, from: 'code' | 'protocol', to: 'code' | 'protocol'): string => {
		for (const pair of pairs) {
			const prefix = pair[from];
			if (value === prefix || value.startsWith(`${prefix}/`)) {
				return pair[to] + value.slice(prefix.length);
			}
		}
		return value;
	};
	return {
		code2Protocol: (uri: Uri) => swap(uri.toString(), 'code', 'protocol'),
		protocol2Code: (value: string) => Uri.parse(swap(value, 'protocol', 'code')),
	};
}

export async function deactivate(): Promise<void> {
	await client?.stop();
	client = undefined;
	for (const uri of tempFolders.splice(0)) {
		await Promise.resolve(workspace.fs.delete(uri, { recursive: true })).catch(() => undefined);
	}
}
