import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isLongLine, readLines, type ReadLine } from './line-reader';

async function collect(chunks: readonly (Buffer | string)[], maxLineBytes: number): Promise<ReadLine[]> {
  const out: ReadLine[] = [];
  async function* source(): AsyncGenerator<Buffer | string> {
    for (const c of chunks) yield c;
  }
  for await (const line of readLines(source(), { maxLineBytes })) out.push(line);
  return out;
}

/** What the reader must give for `text`, computed the obvious (quadratic, whole-string) way. */
function expected(text: string, max: number): ReadLine[] {
  const parts = text.split('\n');
  const terminatedLast = parts.at(-1) === '';
  if (terminatedLast) parts.pop();
  return parts.map((raw, i) => {
    const n = i + 1;
    const terminated = i < parts.length - 1 || terminatedLast;
    const bytes = Buffer.byteLength(raw);
    if (bytes > max) return { n, tooLong: bytes, terminated };
    let line = raw;
    if (i === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    return { n, text: line, terminated };
  });
}

test('lines: CRLF, a BOM, UTF-8 split across chunks, a last line without newline', async () => {
  const bytes = Buffer.from('\uFEFF{"a":"é"}\r\n\r\n{"b":"日本"}\n{"c":1}', 'utf8');
  const lines = await collect(
    [...bytes].map((b) => Buffer.from([b])),
    1024,
  );
  assert.deepEqual(lines, [
    { n: 1, text: '{"a":"é"}', terminated: true },
    { n: 2, text: '', terminated: true },
    { n: 3, text: '{"b":"日本"}', terminated: true },
    { n: 4, text: '{"c":1}', terminated: false },
  ]);
});

test('an over-long line is reported with its length and the next line still comes, whatever the chunking', async () => {
  const long = 'x'.repeat(10_000);
  const text = `a\n${long}\nb\n${long}`;
  for (const size of [1, 7, 100, 4096, 65536]) {
    const buf = Buffer.from(text);
    const chunks: Buffer[] = [];
    for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
    const lines = await collect(chunks, 100);
    assert.deepEqual(lines, expected(text, 100), `chunks of ${size}`);
    assert.equal(lines.filter(isLongLine).length, 2);
  }
});

test('property: any text, any chunking, any maximum: the same lines as splitting the whole text', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('\n', '\r\n', '\uFEFF', 'é日')),
        {
          maxLength: 30,
        },
      ),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 80 }),
      async (pieces, sizes, max) => {
        const text = pieces.join('');
        const buf = Buffer.from(text, 'utf8');
        const chunks: Buffer[] = [];
        for (let i = 0, k = 0; i < buf.length; k++) {
          const size = sizes[k % sizes.length]!;
          chunks.push(buf.subarray(i, i + size));
          i += size;
        }
        assert.deepEqual(await collect(chunks, max), expected(text, max));
      },
    ),
    { numRuns: 300 },
  );
});
