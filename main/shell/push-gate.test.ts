// A hidden window's page gets no host deltas, and is resynced when shown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Push } from '../contract';
import { PushGate } from './push-gate';

const delta = { type: 'delta' } as unknown as Push;
const full = { type: 'full' } as unknown as Push;
const log: Push = { type: 'log', time: 0, level: 'info', workload: null, name: null, message: 'x' };
const reveal = { type: 'reveal', failureSeq: 1 } as unknown as Push;

test('visible: everything goes out; hidden: host state is held back, the rest goes out', () => {
  const gate = new PushGate();
  assert.equal(gate.passes(delta), true);
  gate.hide();
  assert.deepEqual(
    [delta, full, log, reveal].map((m) => gate.passes(m)),
    [false, false, true, true],
  );
});

test('shown again: a resync only when host messages were held back', () => {
  const gate = new PushGate();
  gate.hide();
  assert.equal(gate.show(), false, 'nothing missed');
  gate.hide();
  gate.passes(delta);
  assert.equal(gate.show(), true);
  assert.equal(gate.show(), false, 'once');
  assert.equal(gate.passes(delta), true);
});
