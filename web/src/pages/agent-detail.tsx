import { PageHead } from '../components/ui.js';
export function AgentDetailPage({ agentId }: { agentId: string }) {
  return <div class="page"><PageHead title={agentId} /></div>;
}
