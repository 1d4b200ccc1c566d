// Settings > General: Herald's version and the Gateway Public IP (the address
// deliveries leave from, for receivers to allow-list), from `generalSettings`.
import { gql } from "../lib/api.js";
import { ErrorBox, html, Loading, useLoad } from "../lib/ui.js";
import { CopyValue } from "./settings-common.js";

const GENERAL = "{ generalSettings { version pantherVersion gatewayPublicIp } }";

export function General() {
  const { data, error, loading } = useLoad(() => gql(GENERAL).then((d) => d.generalSettings), []);
  if (loading && !data) return html`<${Loading} what="Loading the general settings" />`;
  if (error) return html`<${ErrorBox} error=${error} title="The general settings could not be loaded" />`;
  const g = data;
  return html`<section class="panel">
      <h2>Herald</h2>
      <dl class="facts">
        <dt>Version</dt><dd><code>${g.version}</code></dd>
        <dt>Version reported to Panther clients</dt><dd><code>${g.pantherVersion}</code></dd>
      </dl>
    </section>
    <section class="panel">
      <h2>Gateway Public IP</h2>
      <p class="muted">The address Herald's deliveries leave from: add it to the allow-list of
        receivers that accept requests only from known addresses.</p>
      ${g.gatewayPublicIp
        ? html`<${CopyValue} value=${g.gatewayPublicIp} kind="ip" label="Copy the gateway public IP" />`
        : html`<p><strong>Not configured.</strong> <span class="muted">Set <code>HERALD_GATEWAY_PUBLIC_IP</code>
            in the server's configuration to show it here.</span></p>`}
      <p class="muted">These settings come from the server's configuration; the API has no
        mutation to change them.</p>
    </section>`;
}
