/** Entry point of the `rexec-agent` binary (bin/rexec-agent.js imports the built copy). */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Flush stdout before leaving; stray handles (a half-closed socket) must not keep us alive.
process.stdout.write('', () => process.exit(code));
