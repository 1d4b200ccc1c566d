// Settings > Users: who may sign in, invite (the one-time set-password link is shown),
// change a role, disable or enable, reset a password (a new link), delete.
import { auth, can, gql } from "../lib/api.js";
import { ConfirmButton, ErrorBox, Field, html, Loading, Table, Time, useLoad, useState, useSubmit } from "../lib/ui.js";
import { OneTimeSecret, useActions } from "./settings-common.js";

const USER_FIELDS = "id email givenName familyName enabled status lastLoggedInAt createdAt role { id name }";
const USERS = `{ users { ${USER_FIELDS} } roles { id name permissions } }`;
const INVITE = `mutation($input: InviteUserInput!) { inviteUser(input: $input) { user { ${USER_FIELDS} } setPasswordLink } }`;
const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { ${USER_FIELDS} } } }`;
const RESET = `mutation($input: ResetUserPasswordInput!) { resetUserPassword(input: $input) { user { id email } setPasswordLink } }`;
const DELETE = "mutation($input: DeleteUserInput!) { deleteUser(input: $input) { id } }";

const LINK_WARNING =
  "Send this link to the person: it sets their password, works once, and expires. Herald will not show it again.";

function fullName(u) {
  return [u.givenName, u.familyName].filter(Boolean).join(" ") || "—";
}

function Invite({ roles, onInvited }) {
  // The role with fewest permissions is the default: granting more is a choice.
  const least = [...roles].sort((a, b) => a.permissions.length - b.permissions.length)[0];
  const blank = { givenName: "", familyName: "", email: "", role: least?.id || "" };
  const [form, setForm] = useState(blank);
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const { submit, error, busy, about } = useSubmit(async () => {
    const input = {
      givenName: form.givenName.trim(),
      familyName: form.familyName.trim(),
      email: form.email.trim(),
      role: { kind: "ID", value: form.role || least?.id },
    };
    const d = await gql(INVITE, { input });
    setForm(blank);
    onInvited(d.inviteUser);
  });
  return html`<form class="panel" onSubmit=${submit} aria-label="Invite a user">
    <h2>Invite a user</h2>
    <div class="grid3">
      <${Field} label="Given name" value=${form.givenName} onInput=${set("givenName")} required error=${about("givenName")} autocomplete="off" />
      <${Field} label="Family name" value=${form.familyName} onInput=${set("familyName")} required error=${about("familyName")} autocomplete="off" />
      <${Field} label="E-mail" type="email" value=${form.email} onInput=${set("email")} required error=${about("email")} autocomplete="off" />
    </div>
    <${Field} label="Role" type="select" value=${form.role} onInput=${set("role")} options=${roles.map((r) => [r.id, r.name])} error=${about("role")} />
    <${ErrorBox} error=${error} title="The user was not invited" />
    <button type="submit" class="primary" disabled=${busy}>${busy ? "Inviting…" : "Invite"}</button>
  </form>`;
}

export function Users() {
  const { data, error, loading, reload } = useLoad(() => gql(USERS), []);
  const [secret, setSecret] = useState(null);
  const modify = can("UserModify");
  const { act, setDone, outcome } = useActions(reload);
  const update = (u, input, message) =>
    act(`Changing ${u.email}`, async () => {
      await gql(UPDATE, { input: { id: u.id, ...input } });
      setDone(message);
    });
  const reset = (u) =>
    act(`Resetting the password of ${u.email}`, async () => {
      const d = await gql(RESET, { input: { id: u.id } });
      setSecret({ title: `Set-password link for ${u.email}`, value: d.resetUserPassword.setPasswordLink });
    });
  const remove = (u) =>
    act(`Deleting ${u.email}`, async () => {
      await gql(DELETE, { input: { id: u.id } });
      setDone(`${u.email} deleted.`);
    });

  if (loading && !data) return html`<${Loading} what="Loading the users" />`;
  if (error && !data) return html`<${ErrorBox} error=${error} title="The users could not be loaded" />`;
  const { users, roles } = data;
  const me = auth.user && auth.user.id;

  const columns = [
    { label: "Name", render: (u) => html`<strong>${fullName(u)}</strong>${u.id === me ? html` <span class="badge">you</span>` : null}` },
    { label: "E-mail", key: "email" },
    {
      label: "Role",
      render: (u) =>
        modify && u.id !== me
          ? html`<select aria-label=${`Role of ${u.email}`} value=${u.role.id}
              onChange=${(e) => {
                const role = roles.find((r) => r.id === e.target.value);
                update(u, { role: { kind: "ID", value: e.target.value } }, `${u.email} now has the role ${role ? role.name : ""}.`);
              }}>
              ${roles.map((r) => html`<option value=${r.id} selected=${r.id === u.role.id}>${r.name}</option>`)}
            </select>`
          : u.role.name,
    },
    {
      label: "Status",
      render: (u) => html`${u.enabled ? null : html`<span class="badge st-failed">DISABLED</span> `}<span
        class=${`badge ${u.status === "CONFIRMED" ? "st-healthy" : "st-pending"}`}
        title=${u.status === "CONFIRMED" ? "Has set a password" : "Has not set a password yet"}>${u.status}</span>`,
    },
    { label: "Last login", render: (u) => (u.lastLoggedInAt ? html`<${Time} value=${u.lastLoggedInAt} />` : html`<span class="muted">never</span>`) },
  ];
  if (modify) {
    columns.push({
      label: "Actions",
      render: (u) =>
        u.id === me
          ? html`<span class="muted">(your own account)</span>`
          : html`<div class="row">
              <button type="button" aria-label=${`${u.enabled ? "Disable" : "Enable"} ${u.email}`}
                onClick=${() => update(u, { enabled: !u.enabled }, `${u.email} ${u.enabled ? "disabled: their sessions ended" : "enabled"}.`)}>
                ${u.enabled ? "Disable" : "Enable"}</button>
              <${ConfirmButton} label="Reset password" name=${`Reset the password of ${u.email}`} confirm="Make a new link" danger=${false}
                question=${html`Make a new set-password link for <strong>${u.email}</strong>? Earlier links stop working.`}
                onConfirm=${() => reset(u)} />
              <${ConfirmButton} label="Delete" name=${`Delete ${u.email}`} confirm="Delete user"
                question=${html`Delete <strong>${u.email}</strong>? Their sessions end at once.`}
                onConfirm=${() => remove(u)} />
            </div>`,
    });
  }
  return html`
    ${secret ? html`<${OneTimeSecret} title=${secret.title} value=${secret.value} kind="link" warning=${LINK_WARNING} onDone=${() => setSecret(null)} />` : null}
    ${outcome}
    ${modify
      ? html`<${Invite} roles=${roles} onInvited=${(r) => {
          setDone(null);
          setSecret({ title: `Set-password link for ${r.user.email}`, value: r.setPasswordLink });
          reload();
        }} />`
      : html`<p class="muted">Inviting and changing users needs <code>UserModify</code>.</p>`}
    ${error ? html`<${ErrorBox} error=${error} title="The users could not be reloaded" />` : null}
    <h2>Users</h2>
    <${Table} columns=${columns} rows=${users} caption=${`${users.length} user${users.length === 1 ? "" : "s"}`} empty="No users yet." />`;
}
