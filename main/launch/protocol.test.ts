/**
 * protocol.ts against native/agent/protocol.h: a C program prints the header's constants and struct layouts (as the
 * C compiler lays them out), and every one must equal hostmem's copy — the two sides of the wire cannot drift.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  COUNTERS_LAYOUT,
  DECISION,
  EV,
  EVENT_BYTES,
  EVENT_LAYOUT,
  FAULT_KIND,
  FRAME_HEADER_BYTES,
  HELLO_FORKED,
  HELLO_LAYOUT,
  HELLO_MAGIC,
  LEVEL_ANY,
  LEVEL_NONE,
  MODULE_LAYOUT,
  MSG,
  OP,
  OS,
  POLICY_FLAGS,
  POLICY_LAYOUT,
  PROTOCOL_VERSION,
  RESULT,
  STATE,
} from './protocol';

const cc = spawnSync('cc', ['--version']);
const skip =
  process.platform === 'win32'
    ? 'compiles the header with the C compiler of a Linux machine (the Linux test legs run it)'
    : cc.status !== 0 && 'no C compiler (cc): .ci/run installs gcc';

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

test("every constant and offset of protocol.ts is protocol.h's", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-protocol-'));
  try {
    const exe = join(dir, 'dump');
    const src = join(process.cwd(), 'tests', 'launch', 'programs', 'protocol-dump.c');
    const built = spawnSync('cc', ['-Wall', '-Werror', '-o', exe, src], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const c = JSON.parse(spawnSync(exe, { encoding: 'utf8' }).stdout) as Record<string, number>;
    const expect = (name: string, value: number): void => assert.equal(value, c[name], name);
    expect('HM_PROTOCOL_VERSION', PROTOCOL_VERSION);
    expect('HM_HELLO_MAGIC', HELLO_MAGIC);
    for (const [k, v] of Object.entries(MSG)) expect(`HM_MSG_${k}`, v);
    for (const [k, v] of Object.entries(OS)) expect(`HM_OS_${k}`, v);
    for (const [k, v] of Object.entries(DECISION)) expect(`HM_DECISION_${k}`, v);
    for (const [k, v] of Object.entries(POLICY_FLAGS)) expect(`HM_POLICY_${k}`, v);
    for (const [k, v] of Object.entries(FAULT_KIND)) expect(`HM_FAULT_${k}`, v);
    for (const [k, v] of Object.entries(OP)) expect(`HM_OP_${k}`, v);
    for (const [k, v] of Object.entries(RESULT)) expect(`HM_RESULT_${k}`, v);
    for (const [k, v] of Object.entries(EV)) expect(`HM_EV_${k}`, v);
    for (const [k, v] of Object.entries(STATE)) expect(`HM_STATE_${k}`, v);
    expect('HM_HELLO_FORKED', HELLO_FORKED);
    expect('HM_LEVEL_ANY', LEVEL_ANY);
    expect('HM_LEVEL_NONE', LEVEL_NONE);
    expect('hm_frame_header', FRAME_HEADER_BYTES);
    expect('hm_event', EVENT_BYTES);
    expect('hm_frames_slot', EVENT_BYTES);
    expect('hm_hello', HELLO_LAYOUT.bytes);
    expect('hm_policy_wire', POLICY_LAYOUT.bytes);
    expect('hm_fault_rule', POLICY_LAYOUT.faultBytes);
    expect('hm_level_rule', POLICY_LAYOUT.levelRuleBytes);
    expect('hm_range', POLICY_LAYOUT.rangeBytes);
    expect('hm_module', MODULE_LAYOUT.bytes);
    expect('hm_modules_header', MODULE_LAYOUT.headerBytes);
    expect('hm_counters', COUNTERS_LAYOUT.bytes);
    const fields = (struct: string, layout: Record<string, number>, skipKeys: readonly string[]): void => {
      for (const [k, v] of Object.entries(layout)) {
        if (skipKeys.includes(k)) continue;
        const field = k === 'thresholdPermille' ? 'threshold_permille' : snake(k).replace(/_ns$/, '_ns');
        expect(`${struct}.${field}`, v);
      }
    };
    fields('hm_hello', HELLO_LAYOUT, ['bytes']);
    fields('hm_event', { ...EVENT_LAYOUT }, []);
    fields('hm_policy_wire', POLICY_LAYOUT, ['bytes', 'faultBytes', 'levelRuleBytes', 'rangeBytes']);
    fields('hm_module', MODULE_LAYOUT, ['bytes', 'headerBytes']);
    fields('hm_counters', COUNTERS_LAYOUT, ['bytes']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
