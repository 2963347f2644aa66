/**
 * What a hidden window's page is sent. The host's state goes out up to 20 times a second (full and delta messages);
 * a page nobody sees would parse them, update its stores and redraw its charts for nothing. While its window is
 * hidden those are held back; when it is shown again the page is resynced (its session's next push is a full
 * message), so it shows the present at once. Everything else — workload progress, log lines, a reveal, the Processes
 * view's rows, which are sent as changes and cannot be resent — still goes out. No Electron here (push-gate.test.ts).
 */
import type { Push } from '../contract';

export class PushGate {
  private isHidden = false;
  private missed = false;

  /** The window was hidden (minimised to the tray, closed to the tray). */
  hide(): void {
    this.isHidden = true;
  }

  /** The window is shown again: whether the page missed host messages and must be resynced. */
  show(): boolean {
    const resync = this.isHidden && this.missed;
    this.isHidden = false;
    this.missed = false;
    return resync;
  }

  get hidden(): boolean {
    return this.isHidden;
  }

  /** Whether `message` goes out now. */
  passes(message: Push): boolean {
    if (!this.isHidden || (message.type !== 'full' && message.type !== 'delta')) return true;
    this.missed = true;
    return false;
  }
}
