/**
 * Line I/O for exec: lines read from a stream as they arrive, lines written with backpressure, so a file of a
 * million requests is never held in memory.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';

/** The lines of a UTF-8 stream, without `\n` or `\r\n`. A last line without a newline is still a line. */
export async function* readLines(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let first = true;
  for await (const chunk of stream) {
    let text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    if (first && text !== '') {
      // A UTF-8 byte order mark, as some Windows editors write.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield stripCr(text.slice(start, end));
      start = end + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') yield stripCr(rest);
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Writes lines to a stream; `write` returns a promise when the stream asks to wait. */
export class LineWriter {
  private failure: Error | undefined;

  constructor(private readonly stream: Writable) {
    stream.on('error', (error: Error) => {
      this.failure ??= error;
    });
  }

  write(line: string): void | Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(`${line}\n`)) return this.drain();
    return undefined;
  }

  private drain(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.stream.off('drain', onDrain);
        this.stream.off('error', done);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      this.stream.on('drain', onDrain);
      this.stream.on('error', done);
    });
  }

  /** Flush: for a file, end it; for stdout (which must not be ended), wait until what was written is out. */
  async close(end: boolean): Promise<void> {
    if (this.failure) throw this.failure;
    if (end) {
      await new Promise<void>((resolve, reject) => {
        this.stream.once('error', reject);
        this.stream.end(() => resolve());
      });
    } else {
      await new Promise<void>((resolve, reject) => {
        this.stream.write('', (error) => (error ? reject(error) : resolve()));
      });
    }
  }
}
