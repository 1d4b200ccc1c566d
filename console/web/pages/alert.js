// Placeholder until this page is built.
import { html, PageHeader } from "../lib/ui.js";

export function AlertPage() {
  return html`<${PageHeader} title="AlertPage" /><p>Not built yet.</p>`;
}
