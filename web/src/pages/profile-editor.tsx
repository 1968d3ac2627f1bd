import { PageHead } from '../components/ui.js';
export function ProfileEditorPage({ profileId }: { profileId: string; query: URLSearchParams }) {
  return <div class="page"><PageHead title={profileId} /></div>;
}
