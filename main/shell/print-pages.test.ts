// The print session's one request filter serves every export printing at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrintPages } from './print-pages';

test('two PDF exports at once: each page stays allowed until its own export is done', () => {
  const pages = new PrintPages();
  const doneA = pages.allow('file:///tmp/a/report.html');
  const doneB = pages.allow('file:///tmp/b/report.html');
  assert.equal(pages.allows('file:///tmp/a/report.html'), true);
  doneB();
  assert.equal(pages.allows('file:///tmp/a/report.html'), true, 'the second export ending does not cancel the first');
  assert.equal(pages.allows('file:///tmp/b/report.html'), false);
  doneA();
  doneA(); // twice: no effect
  assert.equal(pages.size, 0);
});

test('nothing else loads but embedded data', () => {
  const pages = new PrintPages();
  pages.allow('file:///tmp/a/report.html');
  assert.equal(pages.allows('file:///etc/passwd'), false);
  assert.equal(pages.allows('https://example.com/x.png'), false);
  assert.equal(pages.allows('data:image/png;base64,AAAA'), true);
});
