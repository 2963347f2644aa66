/**
 * The contract over Electron IPC: the app's page calls `hostmem:call` (ipcRenderer.invoke) with `{ method, params }`
 * and gets `{ ok: true, value } | { ok: false, error }`; it sends `hostmem:subscribe` once it listens, and main then
 * pushes (`hostmem:push`) a full message followed by deltas, workload progress and log lines — the same service
 * session a WebSocket client of `hostmem serve` gets.
 *
 * Every message passes ./ipc-guard first (the sender must be the app's own page in the main frame; the request must
 * satisfy the contract's validators). A page that reloads or whose renderer crashed subscribes again and gets a full
 * message: the state lives in main, so nothing is lost.
 */
import { ipcMain, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { ApiError, Push } from '../contract';
import { IPC_CHANNELS } from '../contract/ipc';
import type { Answer, Service, ServiceSession } from '../service';
import { guardIpc, guardSender, type IpcGuardOptions } from './ipc-guard';
import { PushGate } from './push-gate';

export interface IpcLogger {
  warn(message: string): void;
  info(message: string): void;
}

export interface IpcTransport {
  /** Pages with a live session now. */
  readonly sessions: number;
  /** Drop a page's session (its renderer crashed or it is being reloaded); it subscribes again after loading. */
  drop(contents: WebContents): void;
  /** The page's window was hidden: host deltas are held back (./push-gate). */
  hidden(contents: WebContents): void;
  /** The page's window is shown: it is resynced if it missed host messages. */
  shown(contents: WebContents): void;
  /** Remove the handlers and close every session. */
  close(): void;
}

const REFUSED_SENDER: ApiError = { code: 'refused', message: 'refused: not the app’s own page' };

function senderOf(event: IpcMainEvent | IpcMainInvokeEvent): { senderUrl: string | undefined; main: boolean } {
  // senderFrame is null once the frame navigated away or was destroyed.
  const frame = event.senderFrame;
  return { senderUrl: frame?.url, main: frame !== null && frame === event.sender.mainFrame };
}

export function serveIpc(
  service: Service,
  guard: IpcGuardOptions,
  log: IpcLogger,
  /** After a page subscribed (its first push, the full message, is on its way). */
  onSubscribed: (contents: WebContents) => void = () => undefined,
): IpcTransport {
  const sessions = new Map<WebContents, ServiceSession>();
  const watched = new WeakSet<WebContents>();
  const gates = new WeakMap<WebContents, PushGate>();
  const gateOf = (contents: WebContents): PushGate => {
    let gate = gates.get(contents);
    if (!gate) gates.set(contents, (gate = new PushGate()));
    return gate;
  };

  const open = (contents: WebContents): ServiceSession => {
    sessions.get(contents)?.close();
    const session = service.connect((message: Push) => {
      // A page that is gone or crashed gets nothing; it resubscribes (full message) when it is back.
      if (contents.isDestroyed() || contents.isCrashed() || !gateOf(contents).passes(message)) return;
      contents.send(IPC_CHANNELS.push, message);
    });
    sessions.set(contents, session);
    if (!watched.has(contents)) {
      watched.add(contents);
      contents.once('destroyed', () => drop(contents));
    }
    return session;
  };

  const drop = (contents: WebContents): void => {
    sessions.get(contents)?.close();
    sessions.delete(contents);
  };

  ipcMain.handle(IPC_CHANNELS.call, async (event, payload: unknown): Promise<Answer> => {
    const { senderUrl, main } = senderOf(event);
    const verdict = guardIpc({ senderUrl, senderFrameIsMain: main, channel: IPC_CHANNELS.call, payload }, guard);
    if (!verdict.ok) {
      log.warn(`ipc: refused a call (${verdict.refused}): ${verdict.reason}`);
      return { ok: false, error: verdict.error ?? REFUSED_SENDER };
    }
    // A call before the page subscribed (or after a crash) still needs a session: its requests (resync) are per page.
    const session = sessions.get(event.sender) ?? open(event.sender);
    return session.handle(verdict.request);
  });

  const onSubscribe = (event: IpcMainEvent, payload: unknown): void => {
    const { senderUrl, main } = senderOf(event);
    const why = guardSender({ senderUrl, senderFrameIsMain: main }, guard);
    if (why !== null) {
      log.warn(`ipc: refused a subscribe: ${why}`);
      return;
    }
    if (payload !== undefined) {
      log.warn('ipc: a subscribe carries no payload; ignored');
      return;
    }
    open(event.sender);
    log.info(`ipc: page ${event.sender.id} subscribed`);
    onSubscribed(event.sender);
  };
  ipcMain.on(IPC_CHANNELS.subscribe, onSubscribe);

  return {
    get sessions() {
      return sessions.size;
    },
    drop,
    hidden(contents) {
      gateOf(contents).hide();
    },
    shown(contents) {
      const session = sessions.get(contents);
      if (!gateOf(contents).show() || !session) return;
      void session.request({ method: 'resync' }).then((answer) => {
        if (!answer.ok) log.warn(`ipc: could not resync page ${contents.id}: ${answer.error.message}`);
      });
    },
    close() {
      ipcMain.removeHandler(IPC_CHANNELS.call);
      ipcMain.off(IPC_CHANNELS.subscribe, onSubscribe);
      for (const session of sessions.values()) session.close();
      sessions.clear();
    },
  };
}
