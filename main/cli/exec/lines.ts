/**
 * Line I/O for exec: lines read from a stream as they arrive, lines written with backpressure, so a file of a
 * million requests is never held in memory.
 */
import type { Readable, Writable } from 'node:stream';
import {
  EXEC_MAX_LINE_BYTES,
  isLongLine,
  readLines as readTextLines,
  type LongLine,
} from '../../telemetry/line-reader';

/** A request line as the driver gets it: its text, or the length of a line too long to hold. */
export type ExecLine = string | Pick<LongLine, 'tooLong'>;

/**
 * The lines of a UTF-8 stream, without `\n` or `\r\n` (and a first line's BOM). A last line without a newline is
 * still a line. A line longer than `maxLineBytes` is not held: it comes as `{ tooLong: bytes }` (an error line).
 */
export async function* readLines(
  stream: Readable | AsyncIterable<Buffer | string>,
  maxLineBytes: number = EXEC_MAX_LINE_BYTES,
): AsyncGenerator<ExecLine> {
  for await (const line of readTextLines(stream as AsyncIterable<Buffer | string>, { maxLineBytes })) {
    yield isLongLine(line) ? { tooLong: line.tooLong } : line.text;
  }
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
    try {
      await this.finish(end);
    } catch (error) {
      // The stream's own error (ENOSPC…) says more than "write after destroy".
      throw this.failure ?? error;
    }
    if (this.failure) throw this.failure;
  }

  private async finish(end: boolean): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.stream.destroyed) {
      // The 'error' that destroyed it comes once the stream is closed (a file stream closes its fd first).
      if (!this.stream.closed) await new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
      throw this.failure ?? new Error('the output stream was closed');
    }
    if (end) {
      await new Promise<void>((resolve, reject) => {
        this.stream.once('error', reject);
        this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
      });
    } else {
      await new Promise<void>((resolve, reject) => {
        this.stream.write('', (error) => (error ? reject(error) : resolve()));
      });
    }
  }
}
