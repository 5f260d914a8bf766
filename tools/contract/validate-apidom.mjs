// Swagger Editor 5's validator (@swagger-api/apidom-ls) run over one document, as the editor runs it.
// Prints every diagnostic as path:line:column severity code message; exits 1 on any error or warning.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { getLanguageService } from '@swagger-api/apidom-ls';

const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };
const FAILING = new Set(['error', 'warning']);

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate-apidom.mjs <openapi.yaml>');
  process.exit(2);
}
const text = await readFile(path, 'utf8');
const languageService = getLanguageService({});
const document = TextDocument.create(pathToFileURL(path).href, 'apidom', 0, text);
const diagnostics = await languageService.doValidation(document);
languageService.terminate();

let failing = 0;
for (const { range, severity, code, message } of diagnostics) {
  const level = SEVERITY[severity] ?? `severity-${severity}`;
  if (FAILING.has(level)) failing += 1;
  console.log(`${path}:${range.start.line + 1}:${range.start.character + 1} ${level} ${code} ${message}`);
}
console.log(`apidom-ls (Swagger Editor 5): ${diagnostics.length} diagnostics, ${failing} errors or warnings`);
process.exit(failing ? 1 : 0);
