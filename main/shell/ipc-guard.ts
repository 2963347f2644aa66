// The gate every IPC message from a renderer passes before main acts on it. The renderer is untrusted content: a
// message counts only when it comes from the app's own page, in the window's main frame (not an iframe, not a page
// the window was somehow navigated to), on the one request channel, and carries a request that the contract's
// validators accept. Everything else is refused with a reason for the log; nothing here throws.
//
// No Electron here: the IPC handler passes plain data (event.senderFrame?.url, event.senderFrame ===
// event.sender.mainFrame, the channel, the payload), so all of it is tested in plain Node.
import { parseRequest, type ApiError, type Request } from '../contract';
import { IPC_CHANNELS } from '../contract/ipc';

/** The channel the preload's `call` uses (ipcRenderer.invoke): its payload is `{ method, params }`. */
export const IPC_REQUEST_CHANNEL = IPC_CHANNELS.call;

export interface IpcMessage {
  /** The sending frame's URL (`event.senderFrame?.url`); undefined or null when the frame is gone. */
  readonly senderUrl: string | null | undefined;
  /** Whether the sending frame is the window's main frame (`event.senderFrame === event.sender.mainFrame`). */
  readonly senderFrameIsMain: boolean;
  readonly channel: string;
  readonly payload: unknown;
}

export interface IpcGuardOptions {
  /**
   * Where the app's page lives: the `file:` URL of the built renderer's `index.html` (pathToFileURL of
   * out/renderer/index.html — that exact file, any query or fragment), or the `http(s)` origin of the electron-vite
   * dev server (ELECTRON_RENDERER_URL — any page of that origin).
   */
  readonly appOrigin: string;
}

export type IpcRefusal = 'sender' | 'channel' | 'payload';

export type IpcVerdict =
  | { readonly ok: true; readonly request: Request }
  | {
      readonly ok: false;
      /** What failed: a foreign sender is dropped; a bad payload from the app's own page is answered with `error`. */
      readonly refused: IpcRefusal;
      /** For the log. */
      readonly reason: string;
      /** The contract's error for a refused payload (code 'bad-request'), to send back to the app's page. */
      readonly error?: ApiError;
    };

/** Check one IPC message. Never throws. */
export function guardIpc(message: IpcMessage, options: IpcGuardOptions): IpcVerdict {
  try {
    const sender = checkSender(message, options.appOrigin);
    if (sender !== null) return { ok: false, refused: 'sender', reason: sender };
    if (message.channel !== IPC_REQUEST_CHANNEL) {
      return { ok: false, refused: 'channel', reason: `unknown channel ${quote(message.channel)}` };
    }
    const parsed = parseRequest(message.payload);
    if (!parsed.ok) return { ok: false, refused: 'payload', reason: parsed.error.message, error: parsed.error };
    return { ok: true, request: parsed.value };
  } catch (error) {
    // A payload the validators choke on (structured clone can carry BigInts, cycles, …) is a bad request too.
    const message = `invalid request (${error instanceof Error ? error.message : 'validation failed'})`;
    return { ok: false, refused: 'payload', reason: message, error: { code: 'bad-request', message } };
  }
}

/**
 * For messages without a request (the preload's subscribe): null when the sender is the app's own page in the
 * window's main frame, else why not. Never throws.
 */
export function guardSender(message: Omit<IpcMessage, 'channel' | 'payload'>, options: IpcGuardOptions): string | null {
  try {
    return checkSender({ ...message, channel: '', payload: undefined }, options.appOrigin);
  } catch (error) {
    return `sender check failed (${error instanceof Error ? error.message : 'unknown'})`;
  }
}

/** Null when the sender is the app's own page in the main frame, else why not. */
function checkSender(message: IpcMessage, appOrigin: string): string | null {
  if (message.senderFrameIsMain !== true) return 'the sender is not the window’s main frame';
  const app = parseUrl(appOrigin);
  if (app === null) return `misconfigured guard: appOrigin ${quote(appOrigin)} is not a URL`;
  if (typeof message.senderUrl !== 'string' || message.senderUrl === '') return 'the sender frame has no URL (gone?)';
  const sender = parseUrl(message.senderUrl);
  if (sender === null) return `the sender URL ${quote(message.senderUrl)} is not a URL`;

  if (app.protocol === 'file:') {
    // The built app: exactly its index.html (no other local file, no file on another host such as a UNC share).
    const same =
      sender.protocol === 'file:' &&
      sender.host === app.host &&
      samePath(sender.pathname, app.pathname) &&
      sender.username === '' &&
      sender.password === '';
    return same ? null : `the sender ${quote(message.senderUrl)} is not the app's page`;
  }
  if (app.protocol === 'http:' || app.protocol === 'https:') {
    // The dev server: its origin (scheme, host and port).
    return sender.origin === app.origin ? null : `the sender ${quote(message.senderUrl)} is not the app's origin`;
  }
  return `misconfigured guard: appOrigin ${quote(appOrigin)} is neither a file: URL nor an http(s) origin`;
}

/** file: paths (as the URL parser normalised them) compare case-insensitively on Windows, exactly elsewhere. */
function samePath(a: string, b: string): boolean {
  return process.platform === 'win32' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(typeof value);
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}
