/** The posix process inspector (work in progress: the API is fixed, the walk lands next). */
import { processFail, type ProcessInspector } from '../process-inspector';

export function createPosixInspector(): ProcessInspector {
  const unsupported = (pid: number) =>
    Promise.resolve(processFail<never>('unsupported', pid, 0, 'inspector', 'not implemented yet'));
  return {
    backend: 'posix',
    pageSize: 4096,
    listProcesses: () => unsupported(0),
    processInfo: (pid) => unsupported(pid),
    walkProcess: (pid) => unsupported(pid),
    isRunning: () => false,
  };
}
