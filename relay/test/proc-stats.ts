/** Memory of test processes, from /proc (Linux). Used by the flood test and the benchmark. */
import fs from 'node:fs';

/** A size line of /proc/<pid>/status (VmRSS, RssFile, ...) in bytes; 0 once the process is gone. */
function statusBytes(pid: number, field: string): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone
  }
}

/** VmRSS of a process in bytes; 0 once it is gone. */
export const rssOf = (pid: number): number => statusBytes(pid, 'VmRSS');

/** RssFile of a process in bytes: mapped files (node's binary, libraries), shared with every process that maps them. */
export const rssFileOf = (pid: number): number => statusBytes(pid, 'RssFile');

/** The process and its descendants that are node (not the shells and programs it runs). */
export function nodeTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    let comm = '';
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return;
    }
    if (pid === root || comm === 'node' || comm.startsWith('rexec')) out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}
