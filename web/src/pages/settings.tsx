import { PageHead } from '../components/ui.js';

export function SettingsPage(_props: { query?: URLSearchParams }) {
  return (
    <div class="page">
      <PageHead title="settings" />
    </div>
  );
}
