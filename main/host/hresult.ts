/** The HRESULTs the host produces (spec/host-semantics.md, "HRESULTs"), and nothing else. */
export const HR = {
  S_OK: 0x00000000,
  E_OUTOFMEMORY: 0x8007000e,
  E_INVALIDARG: 0x80070057,
  ERROR_INVALID_ADDRESS: 0x800701e7,
  ERROR_NOACCESS: 0x800703e6,
  HOST_E_INVALIDOPERATION: 0x80131022,
  HOST_E_CLRNOTAVAILABLE: 0x80131023,
  HOST_E_TIMEOUT: 0x80131024,
  HOST_E_NOT_OWNER: 0x80131025,
  HOST_E_ABANDONED: 0x80131026,
  E_FAIL: 0x80004005,
} as const;

export type HResultName = keyof typeof HR;
export type HResult = (typeof HR)[HResultName];

/** Names as the exec protocol prints them (`HRESULT_FROM_WIN32(...)` for the two Win32 ones). */
const NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [HR.S_OK, 'S_OK'],
  [HR.E_OUTOFMEMORY, 'E_OUTOFMEMORY'],
  [HR.E_INVALIDARG, 'E_INVALIDARG'],
  [HR.ERROR_INVALID_ADDRESS, 'HRESULT_FROM_WIN32(ERROR_INVALID_ADDRESS)'],
  [HR.ERROR_NOACCESS, 'HRESULT_FROM_WIN32(ERROR_NOACCESS)'],
  [HR.HOST_E_INVALIDOPERATION, 'HOST_E_INVALIDOPERATION'],
  [HR.HOST_E_CLRNOTAVAILABLE, 'HOST_E_CLRNOTAVAILABLE'],
  [HR.HOST_E_TIMEOUT, 'HOST_E_TIMEOUT'],
  [HR.HOST_E_NOT_OWNER, 'HOST_E_NOT_OWNER'],
  [HR.HOST_E_ABANDONED, 'HOST_E_ABANDONED'],
  [HR.E_FAIL, 'E_FAIL'],
]);

export function hresultName(hr: number): string {
  return NAMES.get(hr) ?? hresultHex(hr);
}

/** `0x8007000E`: eight hex digits, upper case, as the spec's table writes them. */
export function hresultHex(hr: number): string {
  return `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

export function isKnownHResult(hr: number): boolean {
  return NAMES.has(hr);
}
