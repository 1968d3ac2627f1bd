/** Entry of the embedded database's process (./embedded-server.ts): its arguments are JSON in argv[2]. */
import { runEmbeddedServer, type EmbeddedServerArgs } from './embedded-server.js';

process.title = 'rexec-relay-db';
void runEmbeddedServer(JSON.parse(process.argv[2] ?? '{}') as EmbeddedServerArgs);
