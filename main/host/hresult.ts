/** The HRESULTs the host produces and their names: hostmem's vocabulary (main/vocabulary), kept there once. */
export { HR, hresultHex, hresultName, isKnownHResult, type HResult, type HResultName } from '../vocabulary';
