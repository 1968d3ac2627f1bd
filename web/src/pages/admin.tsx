import { PageHead } from '../components/ui.js';

export function AdminPage() {
  return (
    <div class="page">
      <PageHead title="admin" />
    </div>
  );
}
