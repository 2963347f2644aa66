// The one import point of the contract for the renderer (types, applyMessage, ApiCallError, the WebSocket client, …).
export * from '../../../main/contract';
export * from '../../../main/contract/client';
