//! The console's settings page(s) in headless Chromium (see console.rs for the shell):
//! API tokens made, rotated and revoked through the form (their values work, then stop
//! working, against /graphql), General's version and gateway public IP, inviting a user
//! (the one-time link), roles with a refused delete, and what a principal without the
//! Modify permissions sees.
use crate::console::{console_server, signed_in};
use crate::support::browser::Browser;
use crate::support::*;
use serde_json::{json, Value};

/// The value shown once (a token, a set-password link).
async fn shown_secret(b: &Browser) -> String {
    b.wait_until(
        "a one-time value",
        "return !!document.querySelector('.one-time .secret-value')",
    )
    .await;
    b.client
        .execute(
            "return document.querySelector('.one-time .secret-value').innerText",
            vec![],
        )
        .await
        .expect("the value")
        .as_str()
        .expect("text")
        .trim()
        .to_string()
}

/// POST /graphql with this token: the status and the JSON body.
async fn with_token(s: &TestServer, token: &str, query: &str) -> (u16, Value) {
    let r = s
        .client
        .post(format!("{}/graphql", s.url))
        .header("x-api-key", token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("the request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> String {
    str_of(&body["errors"][0]["extensions"]["code"])
}

const VERSION: &str = "{ generalSettings { version } }";

async fn an_admin_creates_rotates_and_revokes_a_token(db: TestDb) {
    let s = console_server(&db).await;
    let test = "an_admin_creates_rotates_and_revokes_a_token";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/settings").await;
    // /settings opens the first tab.
    b.see("Herald's deliveries leave from").await;
    assert_eq!(b.path().await, "/settings/general");
    b.click("API tokens").await;
    b.see("Create an API token").await;
    b.see("test-admin").await;
    b.fill("Token name", "ci-reader").await;
    b.tick("Permissions", "AlertRead", true).await;
    b.tick("Permissions", "GeneralSettingsRead", true).await;
    b.fill("Allowed CIDR blocks", "127.0.0.0/8").await;
    b.click("Create token").await;
    b.see("Value of ci-reader").await;
    b.see("will not show it again").await;
    let first = shown_secret(&b).await;
    assert!(first.len() > 20, "{first:?}");
    b.see("127.0.0.0/8").await;
    b.shot("console-settings-token-created").await;

    // The value works with what it was given, and only that.
    let (status, body) = with_token(&s, &first, VERSION).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = with_token(&s, &first, "{ users { id } }").await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let listed = s
        .ok(
            "{ apiTokens { name permissions allowedCIDRBlocks } }",
            json!({}),
        )
        .await;
    let t = listed["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci-reader")
        .cloned()
        .expect("the token is listed");
    assert_eq!(
        t["permissions"],
        json!(["AlertRead", "GeneralSettingsRead"])
    );
    assert_eq!(t["allowedCIDRBlocks"], json!(["127.0.0.0/8"]));

    // Done hides the value for good.
    b.click("Done").await;
    b.not_see(&first).await;

    // Rotate: a new value, shown once; the old one stops working.
    b.click("Rotate ci-reader").await;
    b.see("Its current value stops working at once").await;
    b.click("Rotate token").await;
    b.see("New value of ci-reader").await;
    let second = shown_secret(&b).await;
    assert_ne!(first, second);
    let (status, body) = with_token(&s, &first, VERSION).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = with_token(&s, &second, VERSION).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");

    // Revoke, after a confirmation.
    b.click("Revoke ci-reader").await;
    b.see("Requests with it are refused at once").await;
    b.shot("console-settings-token-revoke").await;
    b.click("Revoke token").await;
    b.see("Token ci-reader revoked.").await;
    b.not_see("New value of ci-reader").await;
    let (status, body) = with_token(&s, &second, VERSION).await;
    assert_eq!(status, 401, "{body}");
    b.shot("console-settings-tokens").await;

    // A refused creation is shown inline with the server's message.
    b.fill("Token name", "bad-cidr").await;
    b.tick("Permissions", "AlertRead", true).await;
    b.fill("Allowed CIDR blocks", "not-a-block").await;
    b.click("Create token").await;
    b.see("The token was not created").await;
    b.see("not-a-block").await;
    b.assert_no_console_errors(&["400", "401"]).await;
    b.close().await;
}

async fn general_shows_the_version_and_the_gateway_public_ip(db: TestDb) {
    let s = TestServer::start_with(&db, |a| {
        a.public_url = "http://herald.test".into();
        a.gateway_public_ip = Some("203.0.113.7".into());
    })
    .await;
    let test = "general_shows_the_version_and_the_gateway_public_ip";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/settings/general").await;
    b.see("Gateway Public IP").await;
    b.see("203.0.113.7").await;
    b.see(env!("CARGO_PKG_VERSION")).await;
    b.shot("console-settings-general").await;
    b.resize(390, 844).await;
    b.see("203.0.113.7").await;
    b.shot("console-settings-general-phone").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn an_admin_invites_a_user_and_manages_roles(db: TestDb) {
    let s = console_server(&db).await;
    let test = "an_admin_invites_a_user_and_manages_roles";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/settings/users").await;
    b.see("Invite a user").await;
    b.fill("Given name", "Grace").await;
    b.fill("Family name", "Hopper").await;
    b.fill("E-mail", "grace@example.com").await;
    b.choose("Role", "Analyst").await;
    b.click("Invite").await;
    b.see("Set-password link for grace@example.com").await;
    let link = shown_secret(&b).await;
    assert!(
        link.starts_with("http://herald.test/auth/set-password?token="),
        "{link}"
    );
    b.see("FORCE_CHANGE_PASSWORD").await;
    b.shot("console-settings-users-invited").await;
    let users = s
        .ok("{ users { email role { name } enabled } }", json!({}))
        .await;
    let grace = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "grace@example.com")
        .cloned()
        .expect("invited");
    assert_eq!(grace["role"]["name"], "Analyst");

    // Change the role, disable, and see it stick.
    b.choose("Role of grace@example.com", "AnalystReadOnly")
        .await;
    b.see("grace@example.com now has the role AnalystReadOnly.")
        .await;
    b.click("Disable grace@example.com").await;
    b.see("DISABLED").await;
    let g = s
        .ok(
            "query { userByEmail(email: \"grace@example.com\") { enabled role { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(g["userByEmail"]["enabled"], false);
    assert_eq!(g["userByEmail"]["role"]["name"], "AnalystReadOnly");
    // A new link for a forgotten password.
    b.click("Reset the password of grace@example.com").await;
    b.click("Make a new link").await;
    b.wait_until(
        "a new link",
        &format!(
            "const v = document.querySelector('.one-time .secret-value'); return !!v && v.innerText.trim() !== {}",
            serde_json::to_string(&link).unwrap()
        ),
    )
    .await;

    // Roles: create one, then a delete refused while a user has it.
    b.click("Roles").await;
    b.see("Create a role").await;
    b.fill("Role name", "Responder").await;
    b.tick("Role permissions", "AlertRead", true).await;
    b.tick("Role permissions", "AlertModify", true).await;
    b.click("Create role").await;
    b.see("Role Responder created.").await;
    b.fill("Role name", "responder").await;
    b.click("Create role").await;
    b.see("The role was not created").await;
    b.see("CONFLICT").await;
    b.click("Delete AnalystReadOnly").await;
    b.click("Delete role").await;
    b.see("The role AnalystReadOnly was not deleted").await;
    b.shot("console-settings-roles").await;
    b.click("Edit Responder").await;
    b.see("Edit the role Responder").await;
    b.tick("Role permissions", "SummaryRead", true).await;
    b.click("Save role").await;
    b.see("Role Responder saved.").await;
    let roles = s
        .ok(
            "query { roleByName(name: \"Responder\") { permissions } }",
            json!({}),
        )
        .await;
    assert_eq!(
        roles["roleByName"]["permissions"],
        json!(["AlertRead", "AlertModify", "SummaryRead"])
    );
    b.click("Delete Responder").await;
    b.click("Delete role").await;
    b.see("Role Responder deleted.").await;
    b.resize(390, 844).await;
    b.click("Users").await;
    b.see("grace@example.com").await;
    b.shot("console-settings-users-phone").await;
    // Enable again, then delete after a confirmation.
    b.click("Enable grace@example.com").await;
    b.see("grace@example.com enabled.").await;
    b.click("Delete grace@example.com").await;
    b.see("Their sessions end at once").await;
    b.click("Delete user").await;
    b.see("grace@example.com deleted.").await;
    let users = s.ok("{ users { email } }", json!({})).await;
    assert!(!users.to_string().contains("grace@example.com"), "{users}");
    b.assert_no_console_errors(&["409", "400"]).await;
    b.close().await;
}

async fn an_analyst_reads_users_but_may_not_invite(db: TestDb) {
    let s = console_server(&db).await;
    let test = "an_analyst_reads_users_but_may_not_invite";
    let Some(b) = signed_in(&s, "alan@example.com", "Analyst", test).await else {
        return;
    };
    b.goto("/settings/users").await;
    b.see("alan@example.com").await;
    b.see("Inviting and changing users needs UserModify").await;
    assert!(!b.has_button("Invite").await);
    assert!(!b.has_button("Delete").await);
    // No API tokens tab without OrganizationAPITokenRead, and its path says why.
    assert!(!b.has_button("API tokens").await);
    b.shot("console-settings-users-analyst").await;
    b.goto("/settings/tokens").await;
    b.see("This tab needs the OrganizationAPITokenRead permission")
        .await;
    b.click("Roles").await;
    b.see("Creating and changing roles needs UserModify").await;
    assert!(!b.has_button("Create role").await);
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

on_both!(
    an_admin_creates_rotates_and_revokes_a_token,
    general_shows_the_version_and_the_gateway_public_ip,
    an_admin_invites_a_user_and_manages_roles,
    an_analyst_reads_users_but_may_not_invite
);
