import { PageHead } from '../components/ui.js';
export function TerminalsPage(_p: { query: URLSearchParams }) {
  return <div class="page"><PageHead title="Terminals" /></div>;
}
