// Placeholder until this page is built.
import { html, PageHeader } from "../lib/ui.js";

export function Alerts() {
  return html`<${PageHeader} title="Alerts" /><p>Not built yet.</p>`;
}
