/** Analytics: charts once the relay has an analytics API; until then says so (no data is made up). */
import { NotAvailable, PageHead, Spinner, useAsync } from '../components/ui.js';
import { routeExists } from '../api.js';

export function AnalyticsPage() {
  const avail = useAsync(() => routeExists('/api/analytics'), []);
  return (
    <div class="page">
      <PageHead title="Analytics" />
      {avail.data === undefined ? (
        <Spinner />
      ) : avail.data ? (
        <p class="banner banner-info" data-testid="analytics-available">
          The relay has an analytics API; its charts are not built into this version of the web app yet.
        </p>
      ) : (
        <NotAvailable what="Analytics" api="/api/analytics" />
      )}
    </div>
  );
}
