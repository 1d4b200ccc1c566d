// Settings: General (version, gateway public IP), API tokens, Users and Roles. Each
// tab is shown only to a principal who may read it; changes only with the Modify
// permission.
import { can } from "../lib/api.js";
import { navigate } from "../lib/router.js";
import { html, PageHeader } from "../lib/ui.js";
import { General } from "./settings-general.js";
import { Tokens } from "./settings-tokens.js";
import { Users } from "./settings-users.js";
import { Roles } from "./settings-roles.js";

const TABS = [
  { id: "general", label: "General", needs: "GeneralSettingsRead", page: General },
  { id: "tokens", label: "API tokens", needs: "OrganizationAPITokenRead", page: Tokens },
  { id: "users", label: "Users", needs: "UserRead", page: Users },
  { id: "roles", label: "Roles", needs: "UserRead", page: Roles },
];

export function Settings({ params }) {
  const tabs = TABS.filter((t) => can(t.needs));
  if (tabs.length === 0) {
    return html`<${PageHeader} title="Settings" />
      <p>Your role has none of the permissions the settings need (<code>GeneralSettingsRead</code>,
        <code>OrganizationAPITokenRead</code>, <code>UserRead</code>).</p>`;
  }
  const wanted = params.tab;
  const tab = tabs.find((t) => t.id === wanted);
  if (!wanted) {
    navigate(`/settings/${tabs[0].id}`, { replace: true });
    return null;
  }
  const Page = tab && tab.page;
  return html`<${PageHeader} title=${tab ? `Settings · ${tab.label}` : "Settings"} />
    <div class="tabs" role="tablist" aria-label="Settings">
      ${tabs.map(
        (t) => html`<a class="button" role="tab" href=${`/settings/${t.id}`} aria-selected=${t.id === wanted ? "true" : "false"}
          aria-controls="settings-panel">${t.label}</a>`,
      )}
    </div>
    <div id="settings-panel" role="tabpanel">
      ${Page
        ? html`<${Page} key=${tab.id} />`
        : TABS.some((t) => t.id === wanted)
          ? html`<p>This tab needs the <code>${TABS.find((t) => t.id === wanted).needs}</code> permission, which you do not have.</p>`
          : html`<p>No settings tab <code>${wanted}</code>. <a href="/settings">Back to the settings</a>.</p>`}
    </div>`;
}
