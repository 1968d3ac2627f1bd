/** Mounts a plain-DOM view (render(root, disposables)) inside the Preact tree and disposes it on unmount. */
import { useEffect, useRef } from 'preact/hooks';
import { Disposables } from '../dom.js';

export function Legacy({ render, class: cls, deps = [] }: { render: (root: HTMLElement, d: Disposables) => void; class?: string; deps?: unknown[] }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const d = new Disposables();
    if (ref.current) render(ref.current, d);
    return () => {
      d.dispose();
      ref.current?.replaceChildren();
    };
  }, deps);
  return <div ref={ref} class={cls ?? 'legacy'} />;
}
