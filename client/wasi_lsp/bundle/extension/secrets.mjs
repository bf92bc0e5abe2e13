// Secret scan of the files the bundle author wrote (server code, manifest,
// extension bundle), with the same secretlint rules vsce applies. vsce's own
// scan reads every file, python.wasm and all third-party site-packages
// included, which takes minutes; `vsce package` then runs with
// --allow-package-all-secrets. Usage: node secrets.mjs FILE...
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { lintFiles, prettyPrintLintResult } = require('@vscode/vsce/out/secretLint.js');
const result = await lintFiles(process.argv.slice(2), true, true);
if (!result.ok) {
	console.error(result.results.map(prettyPrintLintResult).join('\n'));
	process.exit(1);
}
