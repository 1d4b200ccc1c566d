// Placeholder until this page is built.
import { html, PageHeader } from "../lib/ui.js";

export function Overrides() {
  return html`<${PageHeader} title="Overrides" /><p>Not built yet.</p>`;
}
