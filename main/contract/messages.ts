/**
 * Messages main sends a person, as a code and parameters: the renderer words them in the page's language
 * (renderer/src/i18n: `serverMessages`, one entry per code in every language, type-checked), the CLI and the logs keep
 * the English text made here. An error carries one as `ApiError.reason` beside its English `message`.
 *
 * Browser-safe: no import.
 */

export const MESSAGE_CODES = [
  'process-not-running',
  'process-access-denied',
  'process-unreadable',
  'process-watch-limit',
  'service-closing',
] as const;
export type MessageCode = (typeof MESSAGE_CODES)[number];

export type MessageParams = Readonly<Record<string, string | number>>;

/** A message as a code and its parameters (what the renderer translates). */
export interface MessageRef {
  readonly code: MessageCode;
  readonly params: MessageParams;
}

/** The English text of each code: `{name}` is a parameter. */
export const MESSAGE_TEXT: Readonly<Record<MessageCode, string>> = {
  'process-not-running': 'process {pid} is not running: {detail}',
  'process-access-denied': 'access denied to process {pid}: {detail}',
  'process-unreadable': 'cannot read process {pid}: {detail}',
  'process-watch-limit': 'at most {max} processes are watched at once (now: {watching}); stop watching one first',
  'service-closing': 'the service is shutting down',
};

/** Fill `{name}` placeholders of `template` from `params` (unknown ones stay as they are). */
export function fillMessage(template: string, params: MessageParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/** The English text of a message (the CLI's, the logs', and `ApiError.message`). */
export function messageText(ref: MessageRef): string {
  return fillMessage(MESSAGE_TEXT[ref.code], ref.params);
}

export function isMessageRef(value: unknown): value is MessageRef {
  if (typeof value !== 'object' || value === null) return false;
  const { code, params } = value as { code?: unknown; params?: unknown };
  return (
    typeof code === 'string' &&
    (MESSAGE_CODES as readonly string[]).includes(code) &&
    typeof params === 'object' &&
    params !== null &&
    !Array.isArray(params) &&
    Object.values(params).every((v) => typeof v === 'string' || typeof v === 'number')
  );
}
