import { PageHead } from '../components/ui.js';

export function SchedulesPage() {
  return (
    <div class="page">
      <PageHead title="schedules" />
    </div>
  );
}
