/**
 * The `hostmem` command line: global options and dispatch to a subcommand in `commands/`. No Electron here.
 */
import { parseArgs } from 'node:util';
import pkg from '../../package.json';
import { EXEC_SUMMARY, EXEC_USAGE, execCommand } from './commands/exec';
import { INSPECT_SUMMARY, INSPECT_USAGE, inspectCommand } from './commands/inspect';
import { LAUNCH_SUMMARY, LAUNCH_USAGE, launchCommand } from './commands/launch';
import { processIo, type CliIo } from './commands/io';
import { PS_SUMMARY, PS_USAGE, psCommand } from './commands/ps';
import { REPLAY_SUMMARY, REPLAY_USAGE, replayCommand } from './commands/replay';
import { REPORT_SUMMARY, REPORT_USAGE, reportCommand } from './commands/report';
import {
  RUN_SUMMARY,
  RUN_USAGE,
  SCENARIOS_SUMMARY,
  SCENARIOS_USAGE,
  runCommand,
  scenariosCommand,
} from './commands/run';
import { quote } from '../vocabulary';
import { SERVE_SUMMARY, SERVE_USAGE, serveCommand } from './commands/serve';

interface Command {
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  exec: { summary: EXEC_SUMMARY, usage: EXEC_USAGE, run: execCommand },
  run: { summary: RUN_SUMMARY, usage: RUN_USAGE, run: runCommand },
  scenarios: { summary: SCENARIOS_SUMMARY, usage: SCENARIOS_USAGE, run: scenariosCommand },
  replay: { summary: REPLAY_SUMMARY, usage: REPLAY_USAGE, run: replayCommand },
  serve: { summary: SERVE_SUMMARY, usage: SERVE_USAGE, run: serveCommand },
  report: { summary: REPORT_SUMMARY, usage: REPORT_USAGE, run: reportCommand },
  ps: { summary: PS_SUMMARY, usage: PS_USAGE, run: (argv, io) => psCommand(argv, io) },
  inspect: { summary: INSPECT_SUMMARY, usage: INSPECT_USAGE, run: (argv, io) => inspectCommand(argv, io) },
  launch: { summary: LAUNCH_SUMMARY, usage: LAUNCH_USAGE, run: launchCommand },
};

export const VERSION: string = pkg.version;

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const commands = Object.entries(COMMANDS)
    .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
    .join('\n');
  return `hostmem ${VERSION}: a host memory manager (IHostMemoryManager) over the real OS

Usage: hostmem <command> [options]
       hostmem help <command>
       hostmem --help | --version

Commands:
${commands}

Run 'hostmem <command> --help' for a command's options.
`;
}

/** Run the command line; resolves to the exit status (0 ok, 2 usage error). */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const at = argv.findIndex((arg) => !arg.startsWith('-'));
  const globals = at < 0 ? argv : argv.slice(0, at);
  let values: { help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...globals],
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(`hostmem: ${error instanceof Error ? error.message : String(error)}\nsee 'hostmem --help'\n`);
    return 2;
  }
  if (values.version) {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (values.help || at < 0) {
    io.stdout.write(usage());
    return 0;
  }
  const name = argv[at] ?? '';
  const rest = argv.slice(at + 1);
  if (name === 'help') {
    const topic = rest[0];
    const command = topic === undefined ? undefined : COMMANDS[topic];
    if (topic !== undefined && !command) {
      io.stderr.write(`hostmem: unknown command ${quote(topic)}\nsee 'hostmem --help'\n`);
      return 2;
    }
    io.stdout.write(command ? command.usage : usage());
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr.write(`hostmem: unknown command ${quote(name)}\nsee 'hostmem --help'\n`);
    return 2;
  }
  return command.run(rest, io);
}
