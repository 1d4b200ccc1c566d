// Settings > Roles: each role with its permissions and how many users have it;
// create, edit (name and permissions), delete (refused while users have it).
import { can, gql } from "../lib/api.js";
import { ConfirmButton, ErrorBox, Field, html, Loading, Table, Time, useLoad, useState, useSubmit } from "../lib/ui.js";
import { actorName, Permissions, permissionOptions, useActions } from "./settings-common.js";

const ROLE_FIELDS = `id name permissions createdAt updatedAt
  updatedBy { __typename ... on User { email } ... on APIToken { name } }`;
const ROLES = `{ roles { ${ROLE_FIELDS} } users { id role { id } } }`;
const CREATE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { role { ${ROLE_FIELDS} } } }`;
const UPDATE = `mutation($input: UpdateRoleInput!) { updateRole(input: $input) { role { ${ROLE_FIELDS} } } }`;
const DELETE = "mutation($input: DeleteRoleInput!) { deleteRole(input: $input) { id } }";

/** Create a role, or edit `role` when given. */
function RoleForm({ role, onSaved, onCancel }) {
  const [form, setForm] = useState({ name: role ? role.name : "", permissions: role ? role.permissions : [] });
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const { submit, error, busy, about } = useSubmit(async () => {
    const input = { name: form.name.trim(), permissions: form.permissions };
    const d = role ? await gql(UPDATE, { input: { id: role.id, ...input } }) : await gql(CREATE, { input });
    if (!role) setForm({ name: "", permissions: [] });
    onSaved((role ? d.updateRole : d.createRole).role);
  });
  const title = role ? `Edit the role ${role.name}` : "Create a role";
  return html`<form class="panel" onSubmit=${submit} aria-label=${title}>
    <h2>${title}</h2>
    <${Field} label="Role name" value=${form.name} onInput=${set("name")} required error=${about("name")} autocomplete="off" />
    <${Field} label="Role permissions" type="checkboxes" options=${permissionOptions()} value=${form.permissions}
      onInput=${set("permissions")} error=${about("permissions")} />
    <${ErrorBox} error=${error} title=${role ? "The role was not changed" : "The role was not created"} />
    <div class="row">
      <button type="submit" class="primary" disabled=${busy}>${role ? "Save role" : "Create role"}</button>
      ${onCancel ? html`<button type="button" onClick=${onCancel}>Cancel</button>` : null}
    </div>
  </form>`;
}

export function Roles() {
  const { data, error, loading, reload } = useLoad(() => gql(ROLES), []);
  const [editing, setEditing] = useState(null);
  const modify = can("UserModify");
  const { act, setDone, outcome } = useActions(reload);

  const remove = (r) =>
    act(`The role ${r.name} was not deleted`, async () => {
      await gql(DELETE, { input: { id: r.id } });
      setDone(`Role ${r.name} deleted.`);
      if (editing && editing.id === r.id) setEditing(null);
    });

  if (loading && !data) return html`<${Loading} what="Loading the roles" />`;
  if (error && !data) return html`<${ErrorBox} error=${error} title="The roles could not be loaded" />`;
  const holders = (r) => data.users.filter((u) => u.role.id === r.id).length;
  const columns = [
    { label: "Role", render: (r) => html`<strong>${r.name}</strong>` },
    { label: "Permissions", render: (r) => html`<${Permissions} list=${r.permissions} />` },
    { label: "Users", render: (r) => String(holders(r)) },
    {
      label: "Changed",
      // The built-in roles were never changed: their times are the epoch.
      render: (r) =>
        new Date(r.updatedAt).getTime() < 86400000
          ? html`<span class="muted">built in</span>`
          : html`<${Time} value=${r.updatedAt} /> <span class="muted">${actorName(r.updatedBy, "")}</span>`,
    },
  ];
  if (modify) {
    columns.push({
      label: "Actions",
      render: (r) => html`<div class="row nowrap">
        <button type="button" aria-label=${`Edit ${r.name}`} onClick=${() => {
          setDone(null);
          setEditing(r);
          requestAnimationFrame(() => document.getElementById("role-editor")?.scrollIntoView({ block: "nearest" }));
        }}>Edit</button>
        <${ConfirmButton} label="Delete" name=${`Delete ${r.name}`} confirm="Delete role"
          question=${html`Delete the role <strong>${r.name}</strong>? ${holders(r) ? `${holders(r)} user(s) have it: Herald will refuse.` : ""}`}
          onConfirm=${() => remove(r)} />
      </div>`,
    });
  }
  return html`
    ${modify
      ? html`<div id="role-editor">${editing
          ? html`<${RoleForm} key=${editing.id} role=${editing} onCancel=${() => setEditing(null)} onSaved=${(r) => {
              setEditing(null);
              setDone(`Role ${r.name} saved.`);
              reload();
            }} />`
          : html`<${RoleForm} key="new" onSaved=${(r) => {
              setDone(`Role ${r.name} created.`);
              reload();
            }} />`}</div>`
      : html`<p class="muted">Creating and changing roles needs <code>UserModify</code>.</p>`}
    ${outcome}
    ${error ? html`<${ErrorBox} error=${error} title="The roles could not be reloaded" />` : null}
    <h2>Roles</h2>
    <${Table} columns=${columns} rows=${data.roles} caption=${`${data.roles.length} roles`} empty="No roles." />`;
}
