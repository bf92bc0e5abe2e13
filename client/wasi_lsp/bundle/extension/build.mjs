// Bundle src/extension.ts twice with esbuild: dist/extension.js for the
// desktop extension host (`main`) and dist/web/extension.js for VS Code for
// the Web (`browser`). Usage: node build.mjs OUT_DIR LAUNCH_JSON_FILE
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [outDir, launchFile] = process.argv.slice(2);
if (!outDir || !launchFile) {
	console.error('usage: node build.mjs OUT_DIR LAUNCH_JSON_FILE');
	process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const launch = JSON.parse(readFileSync(launchFile, 'utf-8'));
const common = {
	absWorkingDir: here,
	entryPoints: [join(here, 'src', 'extension.ts')],
	bundle: true,
	format: 'cjs',
	external: ['vscode'],
	define: { LAUNCH: JSON.stringify(launch) },
	minify: true,
	sourcemap: false,
	logLevel: 'warning',
	legalComments: 'linked',
};
await build({ ...common, platform: 'node', target: 'node20', outfile: join(outDir, 'extension.js') });
await build({
	...common,
	platform: 'browser',
	target: 'es2022',
	outfile: join(outDir, 'web', 'extension.js'),
	alias: { 'vscode-languageclient/node': 'vscode-languageclient/browser' },
});
