import { PageHead } from '../components/ui.js';
export function RunDetailPage({ runId }: { runId: string }) {
  return <div class="page"><PageHead title={runId} /></div>;
}
