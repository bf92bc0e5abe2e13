// The probe of tests/test_vscode.py (both hosts: web worker and Node). It uses only VS Code's public API, so what it
// reports is what a user of VS Code would see: the Problems (getDiagnostics) of a file it
// opens, and the answers of the execute*Provider commands, which go through every
// extension registered for the language (here rstls, over wasm-wasi-core).
// Each run logs one line `WASI_LSP_E2E {json}` on the console, which the test reads.
const vscode = require('vscode');

const TIMEOUT_MS = 180000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, probe) {
	const start = Date.now();
	for (;;) {
		const value = probe();
		if (value) {
			return value;
		}
		if (Date.now() - start > TIMEOUT_MS) {
			throw new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`);
		}
		await sleep(50);
	}
}

function diagnostics(uri) {
	return vscode.languages.getDiagnostics(uri).map((d) => [d.range.start.line, d.range.start.character, d.range.end.character, d.message]);
}

function labels(list) {
	return (list ? list.items : []).map((item) => (typeof item.label === 'string' ? item.label : item.label.label));
}

function hoverText(hovers) {
	return (hovers || []).flatMap((hover) => hover.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
}

function symbolTree(symbols) {
	return (symbols || []).map((s) => [s.name, (s.range || s.location.range).start.line, symbolTree(s.children)]);
}

async function run(context) {
	// The first run in a fresh browser profile closes its editors at the end, so the next
	// page load (warm browser cache) opens errors.rst itself again and is timed the same way.
	const runNumber = context.globalState.get('runs', 0) + 1;
	await context.globalState.update('runs', runNumber);
	const root = vscode.workspace.workspaceFolders[0].uri;
	const file = (name) => vscode.Uri.joinPath(root, name);
	const result = { run: runNumber };

	// Opening the first .rst file activates rstls: the time to its first problems is start-up.
	const started = Date.now();
	const errors = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file('errors.rst')));
	await waitFor('the first diagnostics of errors.rst', () => vscode.languages.getDiagnostics(errors.document.uri).length > 0);
	result.firstDiagnosticsMs = Date.now() - started;
	result.errors = diagnostics(errors.document.uri);
	await vscode.commands.executeCommand('workbench.actions.view.problems');

	const completion = file('completion.rst');
	result.completion = labels(await vscode.commands.executeCommand('vscode.executeCompletionItemProvider', completion, new vscode.Position(3, 3)));
	result.hover = hoverText(await vscode.commands.executeCommand('vscode.executeHoverProvider', file('guide.rst'), new vscode.Position(12, 5)));
	result.symbols = symbolTree(await vscode.commands.executeCommand('vscode.executeDocumentSymbolProvider', file('index.rst')));

	// Fix the unknown directive (line 3) in the editor; its problem must go, the others stay.
	const line = errors.document.lineAt(3);
	const original = line.text;
	await errors.edit((edit) => edit.replace(line.range, '.. note:: oops'));
	await waitFor('the unknown-directive problem to clear after the fix', () =>
		!diagnostics(errors.document.uri).some((d) => d[3].includes('unknowndirective')));
	result.afterFix = diagnostics(errors.document.uri);
	// Put the line back, so errors.rst shows all its problems for the screenshot.
	await errors.edit((edit) => edit.replace(errors.document.lineAt(3).range, original));
	await waitFor('the problem to come back after undo', () =>
		diagnostics(errors.document.uri).some((d) => d[3].includes('unknowndirective')));
	// What the server left in the user's folder (it must write its temp files elsewhere).
	result.workspaceEntries = (await vscode.workspace.fs.readDirectory(root)).map(([name]) => name);
	if (runNumber === 1) {
		// The text is the original again but the editor is dirty: save it (the file's bytes do not
		// change), so closing prompts nothing and the next window restores no edited copy.
		await errors.document.save();
		await vscode.commands.executeCommand('workbench.action.closeAllEditors');
	}
	return result;
}

exports.activate = function (context) {
	console.log('WASI_LSP_E2E_STARTED');
	run(context).then(
		(result) => console.log('WASI_LSP_E2E ' + JSON.stringify(result)),
		(error) => console.log('WASI_LSP_E2E ' + JSON.stringify({ error: String((error && error.stack) || error) })),
	);
};
