// The one import point of the contract for the renderer (types, applyMessage, ApiCallError, …).
export * from '../../../main/contract';
