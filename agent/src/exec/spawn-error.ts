/** The one wording of "this program could not be started", shared by execs and runs. */
export function spawnErrorMessage(file: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `command not found: ${file}`;
  if (err.code === 'EACCES') return `permission denied: ${file}`;
  return `cannot start ${file}: ${err.message}`;
}
