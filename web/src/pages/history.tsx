import { PageHead } from '../components/ui.js';

export function HistoryPage(_props: { query?: URLSearchParams }) {
  return (
    <div class="page">
      <PageHead title="history" />
    </div>
  );
}
