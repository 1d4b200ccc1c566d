// Settings > API tokens: the tokens (never their values), create one with chosen
// permissions, expiry and CIDR blocks (its value shown once), rotate (the new value
// shown once), revoke.
import { auth, can, gql } from "../lib/api.js";
import { ConfirmButton, ErrorBox, Field, html, Loading, Table, Time, useLoad, useState, useSubmit } from "../lib/ui.js";
import { actorName, localToIso, OneTimeSecret, Permissions, permissionOptions, useActions } from "./settings-common.js";

const TOKEN_FIELDS = `id name permissions createdAt expiresAt lastUsedAt rotatedAt allowedCIDRBlocks createdBy
  createdByActor { __typename ... on User { email } ... on APIToken { name } }`;
const TOKENS = `{ apiTokens { ${TOKEN_FIELDS} } }`;
const CREATE = `mutation($input: CreateAPITokenInput!) { createAPIToken(input: $input) { token { ${TOKEN_FIELDS} value } } }`;
const ROTATE = `mutation($id: ID) { rotateAPIToken(id: $id) { token { ${TOKEN_FIELDS} value } } }`;
const REVOKE = "mutation($id: ID!) { deleteAPIToken(id: $id) }";

const WARNING = "Copy this value now: Herald keeps only its hash and will not show it again.";

function splitBlocks(text) {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function CreateToken({ onCreated }) {
  const mine = auth.permissions;
  const [form, setForm] = useState({ name: "", permissions: [], expires: "", cidr: "" });
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const { submit, error, busy, about } = useSubmit(async () => {
    const input = { name: form.name.trim(), permissions: form.permissions, allowedCIDRBlocks: splitBlocks(form.cidr) };
    const expiresAt = localToIso(form.expires);
    if (expiresAt) input.expiresAt = expiresAt;
    const d = await gql(CREATE, { input });
    setForm({ name: "", permissions: [], expires: "", cidr: "" });
    onCreated(d.createAPIToken.token);
  });
  return html`<form class="panel" onSubmit=${submit} aria-label="Create an API token">
    <h2>Create an API token</h2>
    <div class="grid2">
      <${Field} label="Token name" value=${form.name} onInput=${set("name")} required error=${about("name")} autocomplete="off" />
      <${Field} label="Expires" type="datetime-local" value=${form.expires} onInput=${set("expires")}
        hint="Empty: the token never expires." error=${about("expiresAt")} />
    </div>
    <${Field} label="Permissions" type="checkboxes" options=${permissionOptions(mine)} value=${form.permissions}
      onInput=${set("permissions")} hint="A token may hold only permissions you hold yourself." error=${about("permissions")} />
    <${Field} label="Allowed CIDR blocks" type="textarea" rows="2" value=${form.cidr} onInput=${set("cidr")}
      placeholder="203.0.113.0/24, 198.51.100.7" error=${about("allowedCIDRBlocks")}
      hint="Blocks or single addresses, separated by commas or new lines. Empty: usable from any address." />
    <${ErrorBox} error=${error} title="The token was not created" />
    <button type="submit" class="primary" disabled=${busy}>${busy ? "Creating…" : "Create token"}</button>
  </form>`;
}

export function Tokens() {
  const { data, error, loading, reload } = useLoad(() => gql(TOKENS).then((d) => d.apiTokens), []);
  const [secret, setSecret] = useState(null);
  const modify = can("OrganizationAPITokenModify");
  const { act, setDone, outcome } = useActions(reload);
  const rotate = (t) =>
    act(`Rotating ${t.name}`, async () => {
      const d = await gql(ROTATE, { id: t.id });
      setSecret({ title: `New value of ${t.name}`, value: d.rotateAPIToken.token.value });
    });
  const revoke = (t) =>
    act(`Revoking ${t.name}`, async () => {
      await gql(REVOKE, { id: t.id });
      setSecret(null);
      setDone(`Token ${t.name} revoked.`);
    });

  const columns = [
    { label: "Name", render: (t) => html`<strong>${t.name}</strong>${auth.tokenInfo && auth.tokenInfo.id === t.id ? html` <span class="badge">this session</span>` : null}` },
    { label: "Permissions", render: (t) => html`<${Permissions} list=${t.permissions} />` },
    { label: "Created", render: (t) => html`<${Time} value=${t.createdAt} />` },
    { label: "Expires", render: (t) => (t.expiresAt ? html`<${Time} value=${t.expiresAt} />` : html`<span class="muted">never</span>`) },
    { label: "Last used", render: (t) => (t.lastUsedAt ? html`<${Time} value=${t.lastUsedAt} />` : html`<span class="muted">never</span>`) },
    {
      label: "CIDR blocks",
      render: (t) => (t.allowedCIDRBlocks.length ? html`<code>${t.allowedCIDRBlocks.join(", ")}</code>` : html`<span class="muted">any address</span>`),
    },
    { label: "Created by", render: (t) => actorName(t.createdByActor, t.createdBy) },
  ];
  if (modify) {
    columns.push({
      label: "Actions",
      render: (t) => html`<div class="row nowrap">
        <${ConfirmButton} label="Rotate" name=${`Rotate ${t.name}`} confirm="Rotate token" danger=${false}
          question=${html`Rotate <strong>${t.name}</strong>? Its current value stops working at once; the new one is shown once.`}
          onConfirm=${() => rotate(t)} />
        <${ConfirmButton} label="Revoke" name=${`Revoke ${t.name}`} confirm="Revoke token"
          question=${html`Revoke <strong>${t.name}</strong>, and every token it created? Requests with it are refused at once.`}
          onConfirm=${() => revoke(t)} />
      </div>`,
    });
  }

  return html`
    ${secret ? html`<${OneTimeSecret} title=${secret.title} value=${secret.value} warning=${WARNING} onDone=${() => setSecret(null)} />` : null}
    ${outcome}
    ${modify
      ? html`<${CreateToken} onCreated=${(t) => {
          setDone(null);
          setSecret({ title: `Value of ${t.name}`, value: t.value });
          reload();
        }} />`
      : html`<p class="muted">You may read the tokens; creating, rotating and revoking them needs <code>OrganizationAPITokenModify</code>.</p>`}
    <h2>Tokens</h2>
    ${error ? html`<${ErrorBox} error=${error} title="The tokens could not be loaded" />` : null}
    ${loading && !data ? html`<${Loading} what="Loading the tokens" />` : null}
    ${data ? html`<${Table} columns=${columns} rows=${data} caption="API tokens (values are never shown again)" empty="No API tokens." />` : null}`;
}
