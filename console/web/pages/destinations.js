// Placeholder until this page is built.
import { html, PageHeader } from "../lib/ui.js";

export function Destinations() {
  return html`<${PageHeader} title="Destinations" /><p>Not built yet.</p>`;
}
