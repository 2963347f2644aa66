// What a notification click opens, however it arrives: the activation arguments each toast carries (and Electron's
// handleActivation hands back raw), the toast XML, which toasts stay referenced, and the tray balloon's target.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ActivationOnce,
  BalloonTargets,
  MAX_KEPT_TOASTS,
  mayStillBeClicked,
  parseToastArguments,
  targetOf,
  toastArguments,
  toastXml,
  ToastKeeper,
  type ToastTarget,
} from './toast';

test('a toast’s activation arguments lead back to its failure, the Failures view or the window', () => {
  const targets: ToastTarget[] = [{ kind: 'failure', seq: 42 }, { kind: 'failures' }, { kind: 'window' }];
  for (const target of targets) {
    const args = toastArguments(target, 7);
    assert.deepEqual(parseToastArguments(args), target, args);
  }
  assert.deepEqual(targetOf(3), { kind: 'failure', seq: 3 });
  assert.deepEqual(targetOf(null), { kind: 'window' });
});

test('two toasts about the same failure have different ids; a body click says type=click (not an action)', () => {
  const a = toastArguments({ kind: 'failure', seq: 1 }, 1);
  const b = toastArguments({ kind: 'failure', seq: 1 }, 2);
  assert.notEqual(a, b);
  assert.match(a, /^type=click&/);
  assert.doesNotMatch(a, /type=(action|reply)|&tag=/, 'Electron would not dispatch its own click for these');
});

test('arguments that are not ours open the window; a damaged seq opens the Failures view', () => {
  assert.deepEqual(parseToastArguments(''), { kind: 'window' });
  assert.deepEqual(parseToastArguments('type=click&tag=123456'), { kind: 'window' });
  assert.deepEqual(parseToastArguments('hostmem=failure&seq=abc'), { kind: 'failures' });
  assert.deepEqual(parseToastArguments('hostmem=failure&seq=1e3'), { kind: 'failures' });
  assert.deepEqual(parseToastArguments('hostmem=failure'), { kind: 'failures' });
  // Extra keys Windows or Electron might add around ours do not matter.
  assert.deepEqual(parseToastArguments(`action=0&${toastArguments({ kind: 'failure', seq: 9 }, 1)}&x=y`), {
    kind: 'failure',
    seq: 9,
  });
});

const decode = (s: string): string => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));

test('the toast XML carries the arguments in launch and escapes what XML needs', () => {
  const launch = toastArguments({ kind: 'failure', seq: 5 }, 1);
  const xml = toastXml('Process-critical <failure> & "more"', `body's${String.fromCharCode(1)} text\nline 2`, launch);
  assert.match(xml, /^<toast launch="[^"<>]*" activationType="foreground"><visual><binding template="ToastGeneric">/);
  const launchAttr = /launch="([^"]*)"/.exec(xml)?.[1] ?? '';
  assert.equal(decode(launchAttr), launch);
  const texts = [...xml.matchAll(/<text>([^<]*)<\/text>/g)].map((m) => decode(m[1] ?? ''));
  assert.deepEqual(texts, ['Process-critical <failure> & "more"', "body's text\nline 2"]);
  assert.equal(xml.includes(String.fromCharCode(1)), false);
});

test('toasts stay referenced until clicked, failed, or closed for a reason other than a time-out', () => {
  const keeper = new ToastKeeper<string>();
  keeper.keep('a', 'A');
  keeper.keep('b', 'B');
  keeper.keep('c', 'C');
  keeper.closed('a', 'timedOut'); // in Action Center: may still be clicked
  keeper.closed('b', 'userCanceled');
  keeper.closed('c', undefined);
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => keeper.has(id)),
    [true, false, true],
  );
  keeper.forget('a');
  assert.equal(keeper.has('a'), false);
  assert.equal(mayStillBeClicked('applicationHidden'), false);
});

test('at most MAX_KEPT_TOASTS are kept: the oldest is let go first', () => {
  const keeper = new ToastKeeper<number>();
  const dropped: number[] = [];
  for (let i = 0; i < MAX_KEPT_TOASTS + 3; i++) {
    const gone = keeper.keep(`t${i}`, i);
    if (gone !== undefined) dropped.push(gone);
  }
  assert.deepEqual(dropped, [0, 1, 2]);
  assert.equal(keeper.size, MAX_KEPT_TOASTS);
});

test('a balloon click opens its own failure, the Failures view when several were announced, else the window', () => {
  const balloons = new BalloonTargets();
  assert.deepEqual(balloons.clicked(), { kind: 'window' });
  balloons.shown(4);
  assert.deepEqual(balloons.target, { kind: 'failure', seq: 4 }, 'looking does not consume');
  assert.deepEqual(balloons.clicked(), { kind: 'failure', seq: 4 });
  balloons.shown(5);
  balloons.shown(6); // replaces the balloon about 5, which was never clicked
  assert.deepEqual(balloons.clicked(), { kind: 'failures' });
  assert.deepEqual(balloons.clicked(), { kind: 'window' }, 'seen: nothing pending any more');
  balloons.shown(7);
  balloons.shown(null); // the tray hint: about nothing in particular
  assert.deepEqual(balloons.clicked(), { kind: 'window' });
});

test('a toast clicked is acted on once, whether handleActivation or the click event comes first', () => {
  const once = new ActivationOnce();
  const a = toastArguments({ kind: 'failure', seq: 1 }, 1);
  const b = toastArguments({ kind: 'failure', seq: 1 }, 2);
  assert.equal(once.first(a), true);
  assert.equal(once.first(a), false, 'the same click by the other path');
  assert.equal(once.first(b), true, 'another toast about the same failure');
  assert.equal(once.first(''), true);
  assert.equal(once.first(''), true, 'no arguments: nothing to tell two clicks apart by');
});
