import { PageHead } from '../components/ui.js';
import { useAgents } from '../data.js';

export function DashboardPage(_props: { query?: URLSearchParams }) {
  const { agents } = useAgents();
  return (
    <div class="page" data-testid="dashboard">
      <PageHead title="Dashboard" />
      <span data-testid="agents-online">{agents ? agents.filter((a) => a.status === 'online').length : ''}</span>
    </div>
  );
}
