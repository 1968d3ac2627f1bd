import { PageHead } from '../components/ui.js';

export function AnalyticsPage() {
  return (
    <div class="page">
      <PageHead title="analytics" />
    </div>
  );
}
