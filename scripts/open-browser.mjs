// Open a URL in the user's default browser — where there is a desktop to open it on — without ever failing: no
// desktop, a missing opener or an opener that exits non-zero only change what the caller prints. Plain Node, no
// dependencies (used by scripts/start.mjs).
import { spawn } from 'node:child_process';

/**
 * The URLs this opens: `hostmem serve`'s own (http, a host and port, the token). On Windows the URL goes through
 * cmd.exe's `start`, so anything that cmd could read as syntax is refused rather than quoted.
 */
const SAFE_URL = /^http:\/\/[A-Za-z0-9.:[\]-]+\/(\?token=[A-Za-z0-9_-]+)?$/;

/**
 * How to open `url` on `platform`: `{ command, args, options }`, or `{ reason }` when there is nothing to open it
 * with. Linux and the other Unixes need a desktop session (DISPLAY or WAYLAND_DISPLAY): without one, xdg-open falls
 * back to a text browser in this very terminal, which is worse than printing the URL.
 */
export function browserOpener(url, platform = process.platform, env = process.env) {
  if (!SAFE_URL.test(url)) return { reason: `not a hostmem URL: ${url}` };
  if (platform === 'win32') {
    // `start` is a cmd.exe built-in; its first quoted argument is a window title, hence the empty "".
    return {
      command: env.ComSpec || 'cmd.exe',
      args: ['/d', '/s', '/c', `"start "" "${url}""`],
      options: { windowsVerbatimArguments: true, windowsHide: true },
    };
  }
  if (platform === 'darwin') return { command: 'open', args: [url], options: {} };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY)
    return { reason: 'no desktop session: DISPLAY and WAYLAND_DISPLAY are unset' };
  // Its own session: Ctrl+C in this terminal must not reach a browser that xdg-open started in the foreground.
  return { command: 'xdg-open', args: [url], options: { detached: true } };
}

/**
 * Try to open `url`. Calls `report` once with `{ opened: true, command }` when the opener exited 0, or
 * `{ opened: false, reason }` otherwise. Never throws and never keeps the process alive.
 */
export function openInBrowser(url, report, platform = process.platform, env = process.env) {
  const opener = browserOpener(url, platform, env);
  if (!opener.command) {
    report({ opened: false, reason: opener.reason });
    return;
  }
  let reported = false;
  const once = (outcome) => {
    if (reported) return;
    reported = true;
    report(outcome);
  };
  let child;
  try {
    // Its output must not reach ours: the first line of stdout is the URL, and scripts read it.
    child = spawn(opener.command, opener.args, { ...opener.options, stdio: 'ignore' });
  } catch (error) {
    once({ opened: false, reason: `${opener.command}: ${error.message}` });
    return;
  }
  child.on('error', (error) =>
    once({
      opened: false,
      reason: error.code === 'ENOENT' ? `${opener.command} not found` : `${opener.command}: ${error.message}`,
    }),
  );
  child.on('exit', (code, signal) =>
    once(
      code === 0
        ? { opened: true, command: opener.command }
        : { opened: false, reason: `${opener.command} exited with ${code ?? signal}` },
    ),
  );
  child.unref();
}
