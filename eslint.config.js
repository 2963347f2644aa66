// ESLint flat config. Besides the usual recommended sets, it enforces where code may reach:
//   - only main/shell/**, main/index.ts and preload/** may import Electron;
//   - the direction native ← main/host ← main/{telemetry,workloads,reports} ← main/service ← main/{cli,server,shell},
//     with main/inspect beside telemetry but on native/ only (it reads other processes, never the host)
//     (rule `hostmem/layers` below, which resolves relative imports to the folder they land in), as README.md
//     ("Layout") and each folder's README.md say;
//   - main/vocabulary (the constants and names both sides speak) imports nothing, so every layer may import it,
//     native/ included;
//   - main/contract (what crosses to the UI) imports only main/vocabulary, main/host/types,
//     main/telemetry/messages, main/telemetry/process-messages and main/inspect/types (and zod), plus types only from
//     main/workloads/status and main/telemetry/snapshot-data, so the renderer and preload can bundle it; the
//     renderer reaches main only through it.
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import pluginVue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));

const upperMain = ['main/cli/', 'main/server/', 'main/shell/', 'main/index'];
const serviceMain = ['main/service/'];
const contractMain = ['main/contract/'];
const middleMain = ['main/telemetry/', 'main/workloads/', 'main/reports/', 'main/inspect/', 'main/launch/'];
const appSide = ['preload/', 'renderer/'];

/**
 * Who may not import what (repository-relative path prefixes; "main/index" also matches main/index.ts).
 * Only relative imports can cross folders in this repository, so only those are checked.
 */
const layers = [
  {
    from: ['main/vocabulary/'],
    only: ['main/vocabulary/'],
    why: 'main/vocabulary imports nothing, so that every layer (native/ and the browser bundle included) may import it',
  },
  {
    from: ['native/'],
    only: ['native/', 'main/vocabulary/'],
    why: 'native/ is the bottom layer: it may import only native/, main/vocabulary and packages',
  },
  {
    from: ['main/host/'],
    forbidden: [...middleMain, ...serviceMain, ...contractMain, ...upperMain, ...appSide],
    why: 'main/host sits on native/ only (native ← host ← telemetry/workloads/reports ← cli/server/shell)',
  },
  {
    from: middleMain,
    forbidden: [...serviceMain, ...contractMain, ...upperMain, ...appSide],
    why: 'telemetry, workloads and reports sit below cli/server/shell',
  },
  {
    from: ['main/metrics/'],
    forbidden: [...serviceMain, ...contractMain, ...upperMain, ...appSide],
    why: 'main/metrics reads the host, telemetry and inspect; cli/server/shell serve it',
  },
  {
    from: ['main/inspect/'],
    forbidden: ['main/host/', 'main/telemetry/', 'main/workloads/', 'main/reports/'],
    why: 'main/inspect reads other processes through native/ only: never the host or its siblings',
  },
  {
    from: ['main/launch/'],
    forbidden: ['main/telemetry/', 'main/workloads/', 'main/reports/', 'main/inspect/', 'main/metrics/'],
    why:
      "main/launch keeps a launched program's books with the host's own types and structures (main/host, native/): " +
      'telemetry, reports and metrics read it, never the other way',
  },
  {
    from: contractMain,
    only: [
      'main/contract/',
      'main/vocabulary/',
      'main/host/types',
      'main/telemetry/messages',
      'main/telemetry/process-messages',
      'main/inspect/types',
    ],
    typesOnly: ['main/workloads/status', 'main/telemetry/snapshot-data'],
    why:
      'main/contract is bundled by the renderer: it may import only main/vocabulary, main/host/types, ' +
      'main/telemetry/messages, main/telemetry/process-messages and main/inspect/types, and types from ' +
      'main/workloads/status and main/telemetry/snapshot-data',
  },
  {
    from: serviceMain,
    forbidden: [...upperMain, ...appSide],
    why: 'main/service sits below cli/server/shell (which use it) and never reaches the app side',
  },
  {
    from: ['main/cli/', 'main/server/'],
    forbidden: ['main/shell/', 'main/index', ...appSide],
    why: 'the CLI and the server run in plain Node: they may not reach the Electron shell',
  },
  {
    from: ['renderer/'],
    forbidden: ['native/', 'main/host/', ...middleMain, ...serviceMain, ...upperMain, 'preload/'],
    why: 'the renderer never sees Node: it talks to main only through the preload bridge and the contract',
  },
];

const startsWithAny = (path, prefixes) => prefixes.find((prefix) => path.startsWith(prefix) || `${path}/` === prefix);

const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Keep imports flowing down the layers described in README.md and the folder READMEs' },
    schema: [],
    messages: { forbidden: "'{{source}}' reaches {{target}}: {{why}}." },
  },
  create(context) {
    const file = relative(root, context.filename).split(sep).join('/');
    const rules = layers.filter((layer) => startsWithAny(file, layer.from));
    if (rules.length === 0) return {};
    // `import type` / `export type` (or every specifier inline `type`): erased when bundled.
    const typeOnly = (declaration) =>
      declaration.importKind === 'type' ||
      declaration.exportKind === 'type' ||
      (declaration.specifiers?.length > 0 &&
        declaration.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));
    const check = (node, declaration) => {
      const source = node?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = relative(root, resolve(dirname(context.filename), source))
        .split(sep)
        .join('/');
      for (const layer of rules) {
        const allowedAsTypes = declaration !== undefined && typeOnly(declaration) && layer.typesOnly;
        if (
          layer.only &&
          !startsWithAny(target, layer.only) &&
          !(allowedAsTypes && startsWithAny(target, allowedAsTypes))
        ) {
          context.report({ node, messageId: 'forbidden', data: { source, target, why: layer.why } });
          return;
        }
        const hit = startsWithAny(target, layer.forbidden ?? []);
        if (hit) {
          context.report({ node, messageId: 'forbidden', data: { source, target: hit, why: layer.why } });
          return;
        }
      }
    };
    return {
      ImportDeclaration: (node) => check(node.source, node),
      ExportNamedDeclaration: (node) => check(node.source, node),
      ExportAllDeclaration: (node) => check(node.source, node),
      ImportExpression: (node) => check(node.source),
    };
  },
};

const electronOnlyHere = ['main/shell/**', 'main/index.ts', 'preload/**'];
const noElectronMessage =
  'Only main/shell, main/index.ts and preload/ may import Electron (everything else runs in plain Node).';

export default defineConfig([
  globalIgnores(['out/', 'dist/', 'node_modules/', '.cache/', 'test-artifacts/']),

  js.configs.recommended,
  tseslint.configs.recommended,
  pluginVue.configs['flat/recommended'],

  {
    files: ['**/*.vue'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' },
    },
  },

  {
    files: ['**/*.{ts,mts,cts,vue}'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },

  // Where code runs decides its globals.
  {
    files: ['scripts/**', 'main/**', 'native/**', 'preload/**', 'tests/**', 'bench/**', '*.config.{js,ts}'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
  },

  // Electron stays in the shell.
  {
    ignores: electronOnlyHere,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: noElectronMessage }],
          patterns: [{ group: ['electron/*'], message: noElectronMessage }],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/^electron(\\u002F|$)/]', message: noElectronMessage },
        {
          selector: "CallExpression[callee.name='require'][arguments.0.value=/^electron(\\u002F|$)/]",
          message: noElectronMessage,
        },
      ],
    },
  },

  // The layering.
  {
    files: ['**/*.{ts,mts,cts,js,mjs,vue}'],
    plugins: { hostmem: { rules: { layers: layersRule } } },
    rules: { 'hostmem/layers': 'error' },
  },

  // Last: turn off every stylistic rule Prettier owns.
  prettier,
]);
