import { PageHead } from '../components/ui.js';

export function PromptsPage(_props: { query?: URLSearchParams }) {
  return (
    <div class="page">
      <PageHead title="prompts" />
    </div>
  );
}
