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

/** A process's name (/proc/<pid>/comm), or null once it is gone. */
function commOf(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Every live process's children, by parent pid. */
function childrenByParent(): Map<number, number[]> {
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
  return children;
}

/** The process and its descendants for which `keep(pid, name)` holds (root always). */
function tree(root: number, keep: (pid: number, comm: string) => boolean): number[] {
  const children = childrenByParent();
  const out: number[] = [];
  const walk = (pid: number) => {
    const comm = commOf(pid);
    if (comm === null) return;
    if (pid === root || keep(pid, comm)) out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** The process and its descendants that are node (not the shells and programs it runs). */
export function nodeTree(root: number): number[] {
  return tree(root, (_pid, comm) => comm === 'node' || comm.startsWith('rexec'));
}

/** Descendants of `root` named `name` (their comm, e.g. a process.title). */
export function descendantsNamed(root: number, name: string): number[] {
  return tree(root, (_pid, comm) => comm === name).filter((pid) => pid !== root);
}
