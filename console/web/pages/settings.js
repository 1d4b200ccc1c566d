// Placeholder until this page is built.
import { html, PageHeader } from "../lib/ui.js";

export function Settings() {
  return html`<${PageHeader} title="Settings" /><p>Not built yet.</p>`;
}
