/**
 * `hostmem serve`'s credentials from outside: a token from a file (`--token-file`, `--metrics-token-file`) or from
 * the environment (`HOSTMEM_TOKEN`, `HOSTMEM_METRICS_TOKEN`), so that a scrape survives a restart; and the TLS
 * certificate and key files. The file wins over the variable. A token file must be a regular file that no other
 * user may read or write (mode 0600 or stricter; not checked on Windows, whose ACLs are not mode bits). A token is
 * one line of the characters a Bearer token may hold, 16 to 4096 of them. Every problem is one line naming the flag.
 */
import { readFileSync, statSync } from 'node:fs';

/** Where a token came from, for the messages (never the token itself). */
export interface Credential {
  readonly token: string;
  /** e.g. `--token-file /etc/hostmem/token`, `HOSTMEM_TOKEN` */
  readonly source: string;
}

export class CredentialError extends Error {}

/** RFC 6750's token68: what an `Authorization: Bearer` header carries. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MIN_TOKEN = 16;
const MAX_TOKEN = 4096;

function checkToken(token: string, source: string): string {
  if (token.length < MIN_TOKEN || token.length > MAX_TOKEN) {
    throw new CredentialError(
      `${source}: a token must be ${MIN_TOKEN} to ${MAX_TOKEN} characters, got ${token.length}`,
    );
  }
  if (!TOKEN.test(token)) {
    throw new CredentialError(`${source}: a token is one line of letters, digits and - . _ ~ + / (then = padding)`);
  }
  return token;
}

/** The token in `path` (one line; a final newline is dropped), after its file's type and permissions are checked. */
export function readTokenFile(path: string, flag: string, platform: NodeJS.Platform = process.platform): string {
  const source = `${flag} ${path}`;
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CredentialError(`${source}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${String(code)})`}`);
  }
  if (!stat.isFile()) throw new CredentialError(`${source}: not a regular file`);
  if (platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new CredentialError(`${source}: other users may read or change it (mode ${mode}); chmod 600 ${path}`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CredentialError(`${source}: cannot read it (${String((error as { code?: unknown }).code)})`);
  }
  return checkToken(text.replace(/\r?\n$/, ''), source);
}

/** The token from `--…-token-file` if given, else from the variable if set, else null (a random one is made). */
export function tokenFrom(
  file: string | undefined,
  flag: string,
  env: NodeJS.ProcessEnv,
  variable: string,
): Credential | null {
  if (file !== undefined) return { token: readTokenFile(file, flag), source: `${flag} ${file}` };
  const value = env[variable];
  if (value !== undefined && value !== '') return { token: checkToken(value, variable), source: variable };
  return null;
}

/** The TLS certificate and key (PEM), both or neither. */
export function readTls(
  cert: string | undefined,
  key: string | undefined,
): { readonly cert: Buffer; readonly key: Buffer } | null {
  if (cert === undefined && key === undefined) return null;
  if (cert === undefined || key === undefined) throw new CredentialError('--tls-cert and --tls-key go together');
  const read = (path: string, flag: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new CredentialError(
        `${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${String(code)})`}`,
      );
    }
  };
  return { cert: read(cert, '--tls-cert'), key: read(key, '--tls-key') };
}
