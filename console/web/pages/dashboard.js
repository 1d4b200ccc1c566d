// Placeholder until this page is built.
import { html, PageHeader } from "../lib/ui.js";

export function Dashboard() {
  return html`<${PageHeader} title="Dashboard" /><p>Not built yet.</p>`;
}
