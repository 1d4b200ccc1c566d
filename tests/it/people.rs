//! People: users and roles through the API, console sign-in with a session cookie,
//! set-password links, rate-limited logins, CSRF, disabled users. The helpers here
//! (`invite`, `sign_in`, `Console`) are shared by the other people tests.
use crate::ops;
use crate::support::{TestDb, TestServer};
use serde_json::{json, Value};

/// A browser signed in to the console: its session cookie, sent with each request.
pub struct Console {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: String,
}

impl Console {
    /// POST /graphql with the cookie (and `X-Herald-CSRF: 1` when `csrf`).
    pub async fn post(&self, query: &str, variables: Value, csrf: bool) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.base))
            .header("cookie", format!("herald_session={}", self.cookie))
            .json(&json!({"query": query, "variables": variables}));
        if csrf {
            req = req.header("x-herald-csrf", "1");
        }
        let r = req.send().await.expect("POST /graphql");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The whole reply of a GraphQL request sent as a signed-in browser does.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, v) = self.post(query, variables, true).await;
        assert!(status == 200, "{status}: {v:#}");
        v
    }

    /// `data` of a request that must succeed.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let v = self.gql(query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v:#}");
        v["data"].clone()
    }

    /// GET /auth/me: (status, body).
    pub async fn me(&self) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/auth/me", self.base))
            .header("cookie", format!("herald_session={}", self.cookie))
            .send()
            .await
            .expect("GET /auth/me");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// Invite a user with a role (by name); (user id, set-password link).
pub async fn invite(s: &TestServer, email: &str, role: &str) -> (String, String) {
    let d = s
        .ok(
            ops::INVITE_USER,
            json!({"input": {"email": email, "givenName": "Given", "familyName": "Family",
                   "role": {"kind": "NAME", "value": role}}}),
        )
        .await;
    let out = &d["inviteUser"];
    (
        out["user"]["id"].as_str().unwrap().to_string(),
        out["setPasswordLink"].as_str().unwrap().to_string(),
    )
}

/// The token of a set-password link.
pub fn link_token(link: &str) -> String {
    let url = url::Url::parse(link).expect("a URL");
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .expect("a token parameter")
}

/// POST a JSON body to one of the `/auth/…` endpoints: (status, headers, body).
pub async fn post_auth(
    s: &TestServer,
    path: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = s
        .client
        .post(format!("{}{path}", s.url))
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

/// The session cookie a response set, with its attributes.
pub fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<cookie::Cookie<'static>> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| cookie::Cookie::parse(v.to_string()).ok())
        .find(|c| c.name() == "herald_session")
}

/// Sign in with a password; the console, or the refusal (status, body).
pub async fn login(s: &TestServer, email: &str, password: &str) -> Result<Console, (u16, Value)> {
    let (status, headers, body) = post_auth(
        s,
        "/auth/login",
        json!({"email": email, "password": password}),
    )
    .await;
    if status != 200 {
        return Err((status, body));
    }
    let cookie = session_cookie(&headers).expect("a session cookie");
    Ok(Console {
        base: s.url.clone(),
        http: reqwest::Client::new(),
        cookie: cookie.value().to_string(),
    })
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A new user with this role, password set, signed in.
pub async fn sign_in(s: &TestServer, email: &str, role: &str) -> (String, Console) {
    let (id, link) = invite(s, email, role).await;
    let (status, _, body) = post_auth(
        s,
        "/auth/set-password",
        json!({"token": link_token(&link), "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let console = login(s, email, PASSWORD).await.expect("signs in");
    (id, console)
}

// ---------------------------------------------------------------------------- tests

async fn invite_set_password_login_use_logout(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (id, link) = invite(&s, "Ana@Example.com", "AnalystReadOnly").await;
    assert!(
        link.starts_with("https://herald.test/auth/set-password?token="),
        "{link}"
    );
    let user = s
        .ok(
            "query($id: ID!) { userById(id: $id) { email status enabled lastLoggedInAt role { name } } }",
            json!({"id": id}),
        )
        .await["userById"]
        .clone();
    assert_eq!(user["status"], "FORCE_CHANGE_PASSWORD");
    assert_eq!(user["role"]["name"], "AnalystReadOnly");
    assert!(user["lastLoggedInAt"].is_null());
    // No password yet: nothing signs in.
    assert_eq!(
        login(&s, "ana@example.com", PASSWORD)
            .await
            .err()
            .unwrap()
            .0,
        401
    );

    // The link's page, then the password: too short is refused, naming the minimum.
    let local = link.replace("https://herald.test", &s.url);
    let page = s
        .client
        .get(&local)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/auth/set-password"), "{page}");
    let token = link_token(&link);
    let (status, _, body) = post_auth(
        &s,
        "/auth/set-password",
        json!({"token": token, "password": "short"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at least 12"),
        "{body}"
    );
    let (status, _, body) = post_auth(
        &s,
        "/auth/set-password",
        json!({"token": token, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The link works once.
    let (status, _, body) = post_auth(
        &s,
        "/auth/set-password",
        json!({"token": token, "password": "another long password"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // The hash is argon2id; the database never holds the password.
    let stored = herald::store::users::get(&s.services().db, &id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored
            .password_hash
            .as_deref()
            .unwrap()
            .starts_with("$argon2id$"),
        "{stored:?}"
    );

    // Sign in (e-mail case does not matter): the cookie and who signed in.
    let (status, headers, me) = post_auth(
        &s,
        "/auth/login",
        json!({"email": "ANA@example.COM", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let c = session_cookie(&headers).expect("cookie");
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(c.path(), Some("/"));
    // The test server's public URL is https: the cookie is Secure.
    assert_eq!(c.secure(), Some(true));
    assert_eq!(me["user"]["email"], "Ana@Example.com");
    assert_eq!(me["role"]["name"], "AnalystReadOnly");
    assert!(me["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("AlertRead")));
    // Only the hash of the session id is stored.
    let hashes: Vec<String> = {
        use sea_orm::EntityTrait;
        herald::store::entities::session::Entity::find()
            .all(&s.services().db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id_hash)
            .collect()
    };
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], c.value());
    assert_eq!(hashes[0], herald::auth::sessions::digest(c.value()));

    let console = Console {
        base: s.url.clone(),
        http: reqwest::Client::new(),
        cookie: c.value().to_string(),
    };
    let (status, me) = console.me().await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["id"], id.as_str());
    assert!(!me["user"]["lastLoggedInAt"].is_null());
    // Reads the role allows work; writes it lacks are FORBIDDEN, as for a token.
    console.ok(ops::DESTINATION_IDS, json!({})).await;
    let r = console
        .gql(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "x", "title": "t", "severity": "LOW"}}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("AlertModify"),
        "{r}"
    );
    // GET queries work with the cookie too.
    let r = s
        .client
        .get(format!(
            "{}/graphql?query=%7Bdestinations%7BoutputId%7D%7D",
            s.url
        ))
        .header("cookie", format!("herald_session={}", console.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Logout ends the session server-side and clears the cookie.
    let r = s
        .client
        .post(format!("{}/auth/logout", s.url))
        .header("cookie", format!("herald_session={}", console.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared = session_cookie(r.headers()).expect("a clearing cookie");
    assert_eq!(cleared.value(), "");
    assert_eq!(cleared.max_age(), Some(cookie::time::Duration::ZERO));
    let (status, body) = console.post(ops::DESTINATION_IDS, json!({}), true).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(console.me().await.0, 401);
    // Without any cookie: 401 too.
    let r = s
        .client
        .get(format!("{}/auth/me", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

async fn cookie_posts_need_the_csrf_header(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (_, console) = sign_in(&s, "csrf@example.com", "Analyst").await;
    let (status, body) = console.post(ops::DESTINATION_IDS, json!({}), false).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "CSRF_HEADER_REQUIRED"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("X-Herald-CSRF: 1"),
        "{body}"
    );
    let (status, body) = console
        .post(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "x", "title": "t", "severity": "LOW"}}),
            false,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    // Nothing was created by the refused POST.
    assert!(s.alerts_page(json!({})).await["edges"]
        .as_array()
        .unwrap()
        .is_empty());
    let (status, body) = console
        .post(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "x", "title": "t", "severity": "LOW"}}),
            true,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    // A bearer token needs no such header (the admin client never sends it).
    s.ok(ops::DESTINATION_IDS, json!({})).await;
    s.stop().await;
}

async fn disabled_users_are_refused_at_login_and_mid_session(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (id, console) = sign_in(&s, "dis@example.com", "Analyst").await;
    console.ok(ops::DESTINATION_IDS, json!({})).await;
    let d = s
        .ok(
            ops::UPDATE_USER,
            json!({"input": {"id": id, "enabled": false}}),
        )
        .await;
    assert_eq!(d["updateUser"]["user"]["enabled"], false);
    // At once: the session stops working.
    let (status, _) = console.post(ops::DESTINATION_IDS, json!({}), true).await;
    assert_eq!(status, 401);
    let (status, body) = login(&s, "dis@example.com", PASSWORD).await.err().unwrap();
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // Enabled again: signs in again.
    s.ok(
        ops::UPDATE_USER,
        json!({"input": {"id": id, "enabled": true}}),
    )
    .await;
    let again = login(&s, "dis@example.com", PASSWORD)
        .await
        .expect("signs in");
    again.ok(ops::DESTINATION_IDS, json!({})).await;
    // A new password ends every session of the user.
    let fresh = s
        .ok(
            "mutation($id: ID!) { resetUserPassword(input: {id: $id}) { user { id } setPasswordLink } }",
            json!({"id": id}),
        )
        .await["resetUserPassword"]["setPasswordLink"]
        .as_str()
        .unwrap()
        .to_string();
    // Until the new link is used, the current password still works.
    login(&s, "dis@example.com", PASSWORD)
        .await
        .expect("signs in");
    let (status, _, _) = post_auth(
        &s,
        "/auth/set-password",
        json!({"token": link_token(&fresh), "password": "a brand new password"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        again.post(ops::DESTINATION_IDS, json!({}), true).await.0,
        401
    );
    // Deleting the user ends their sessions too.
    let third = login(&s, "dis@example.com", "a brand new password")
        .await
        .expect("signs in");
    s.ok(
        "mutation($input: DeleteUserInput!) { deleteUser(input: $input) { id } }",
        json!({"input": {"id": id}}),
    )
    .await;
    assert_eq!(
        third.post(ops::DESTINATION_IDS, json!({}), true).await.0,
        401
    );
    s.stop().await;
}

async fn failed_logins_are_rate_limited_alike_for_unknown_and_known_emails(db: TestDb) {
    let s = TestServer::start(&db).await;
    sign_in(&s, "rl@example.com", "Analyst").await;
    // Unknown e-mail and wrong password: the same answer.
    let (s1, b1) = login(&s, "nobody@example.com", "whatever-password")
        .await
        .err()
        .unwrap();
    let (s2, b2) = login(&s, "rl@example.com", "wrong-password!!")
        .await
        .err()
        .unwrap();
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(b1, b2);
    // The account had one sign-in and one failure; the default allows 5 a minute.
    let mut last = (0, Value::Null);
    for _ in 0..4 {
        last = login(&s, "rl@example.com", "wrong-password!!")
            .await
            .err()
            .unwrap();
    }
    assert_eq!(last.0, 429, "{}", last.1);
    let (_, headers, body) = post_auth(
        &s,
        "/auth/login",
        json!({"email": "rl@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another account from the same address still has room.
    sign_in(&s, "other@example.com", "Analyst").await;
    s.stop().await;
}

async fn roles_built_in_unique_guarded_and_not_deleted_in_use(db: TestDb) {
    let s = TestServer::start(&db).await;
    let roles = s.ok(ops::ROLES, json!({})).await["roles"].clone();
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Admin", "Analyst", "AnalystReadOnly"]);
    let admin = &roles[0];
    assert_eq!(
        admin["permissions"].as_array().unwrap().len(),
        herald::auth::Permission::ALL.len()
    );
    assert!(admin["updatedBy"].is_null());

    let d = s
        .ok(
            ops::CREATE_ROLE,
            json!({"input": {"name": "Triage", "permissions": ["AlertRead", "AlertModify", "AlertRead"]}}),
        )
        .await;
    let role = d["createRole"]["role"].clone();
    assert_eq!(role["permissions"], json!(["AlertRead", "AlertModify"]));
    let (code, msg) = s
        .err(
            ops::CREATE_ROLE,
            json!({"input": {"name": "  triage ", "permissions": []}}),
        )
        .await;
    assert_eq!(code, "CONFLICT", "{msg}");
    // Panther's data-lake fields: every role allows all log types, nothing else is taken.
    let (code, msg) = s
        .err(
            ops::CREATE_ROLE,
            json!({"input": {"name": "Lake", "permissions": [], "logTypeAccessKind": "DENY_ALL"}}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "{msg}");
    let lake = s
        .ok(
            "mutation { createRole(input: {name: \"Lake\", permissions: [], logTypeAccessKind: ALLOW_ALL}) { role { logTypeAccessKind logTypeAccess } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lake["createRole"]["role"],
        json!({"logTypeAccessKind": "ALLOW_ALL", "logTypeAccess": null})
    );
    let by_name = s
        .ok(
            "{ roleByName(name: \"TRIAGE\") { id updatedBy { ... on APIToken { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(by_name["roleByName"]["id"], role["id"]);
    assert_eq!(by_name["roleByName"]["updatedBy"]["name"], "test-admin");
    let filtered = s
        .ok(
            ops::ROLES,
            json!({"input": {"nameContains": "ANALYST", "sortDir": "descending"}}),
        )
        .await;
    let names: Vec<&str> = filtered["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["AnalystReadOnly", "Analyst"]);

    // In use: refused, naming how many users have it.
    let (uid, _) = invite(&s, "triager@example.com", "triage").await;
    invite(&s, "triager2@example.com", "Triage").await;
    let (code, msg) = s
        .err(
            "mutation($id: ID!) { deleteRole(input: {id: $id}) { id } }",
            json!({"id": role["id"]}),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    assert!(msg.contains("2 users"), "{msg}");
    // The role's users hold what it holds: a change applies to them.
    let upd = s
        .ok(
            "mutation($id: ID!) { updateRole(input: {id: $id, name: \"Triage team\", permissions: [AlertRead]}) { role { name permissions } } }",
            json!({"id": role["id"]}),
        )
        .await;
    assert_eq!(
        upd["updateRole"]["role"]["permissions"],
        json!(["AlertRead"])
    );
    let u = s
        .ok(
            "query($id: ID!) { userById(id: $id) { role { name permissions } } }",
            json!({"id": uid}),
        )
        .await;
    assert_eq!(u["userById"]["role"]["name"], "Triage team");
    // Unknown ids are NOT_FOUND; a role name nobody has is NOT_FOUND too.
    let (code, _) = s.err("{ roleById(id: \"nope\") { id } }", json!({})).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = s
        .err(
            ops::INVITE_USER,
            json!({"input": {"email": "x@example.com", "givenName": "x", "familyName": "y", "role": {"kind": "NAME", "value": "Nope"}}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    // A role nobody has can go.
    let free = s
        .ok(
            ops::CREATE_ROLE,
            json!({"input": {"name": "Spare", "permissions": []}}),
        )
        .await["createRole"]["role"]["id"]
        .clone();
    let d = s
        .ok(
            "mutation($id: ID!) { deleteRole(input: {id: $id}) { id } }",
            json!({"id": free}),
        )
        .await;
    assert_eq!(d["deleteRole"]["id"], free);
    s.stop().await;
}

async fn users_are_unique_validated_and_listed(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (id, _) = invite(&s, "bo@example.com", "Analyst").await;
    let (code, msg) = s
        .err(
            ops::INVITE_USER,
            json!({"input": {"email": "BO@example.com", "givenName": "B", "familyName": "O", "role": {"kind": "NAME", "value": "Analyst"}}}),
        )
        .await;
    assert_eq!(code, "CONFLICT", "{msg}");
    for bad in ["not-an-email", "a@", "two words@example.com", ""] {
        let (code, msg) = s
            .err(
                ops::INVITE_USER,
                json!({"input": {"email": bad, "givenName": "B", "familyName": "O", "role": {"kind": "NAME", "value": "Analyst"}}}),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}: {msg}");
    }
    let by_email = s
        .ok(
            "{ userByEmail(email: \"Bo@Example.com\") { id givenName familyName } }",
            json!({}),
        )
        .await;
    assert_eq!(by_email["userByEmail"]["id"], id.as_str());
    let (code, _) = s
        .err(
            "{ userByEmail(email: \"nobody@example.com\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let role_id = s
        .ok(
            "{ roleByName(name: \"AnalystReadOnly\") { id } }",
            json!({}),
        )
        .await["roleByName"]["id"]
        .clone();
    let d = s
        .ok(
            ops::UPDATE_USER,
            json!({"input": {"id": id, "email": "bo.new@example.com", "role": {"kind": "ID", "value": role_id}}}),
        )
        .await;
    assert_eq!(d["updateUser"]["user"]["email"], "bo.new@example.com");
    assert_eq!(d["updateUser"]["user"]["role"]["name"], "AnalystReadOnly");
    invite(&s, "cy@example.com", "Admin").await;
    let list = s.ok("{ users { email } }", json!({})).await["users"].clone();
    assert_eq!(
        list,
        json!([{"email": "bo.new@example.com"}, {"email": "cy@example.com"}])
    );
    let d = s
        .ok(
            "mutation($id: ID!) { deleteUser(input: {id: $id}) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(d["deleteUser"]["id"], id.as_str());
    let (code, _) = s
        .err(
            "query($id: ID!) { userById(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    // Every change is in the audit log, newest first, without secrets.
    let log = s
        .ok(
            "{ auditLog(input: {targetType: USER}) { entries { action targetId actor { name } before after } } }",
            json!({}),
        )
        .await["auditLog"]["entries"]
        .clone();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["DELETE_USER", "CREATE_USER", "UPDATE_USER", "CREATE_USER"]
    );
    assert_eq!(log[0]["actor"]["name"], "test-admin");
    assert!(!log.to_string().contains("argon2"), "{log}");
    s.stop().await;
}

/// A user cannot hand out more than their role holds: roles they create or give.
async fn users_only_grant_what_their_role_holds(db: TestDb) {
    let s = TestServer::start(&db).await;
    s.ok(
        ops::CREATE_ROLE,
        json!({"input": {"name": "Managers", "permissions": ["UserRead", "UserModify", "AlertRead", "OrganizationAPITokenModify"]}}),
    )
    .await;
    let (_, console) = sign_in(&s, "mgr@example.com", "Managers").await;
    let r = console
        .gql(
            ops::INVITE_USER,
            json!({"input": {"email": "boss@example.com", "givenName": "B", "familyName": "O", "role": {"kind": "NAME", "value": "Admin"}}}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("this user's role cannot"),
        "{r}"
    );
    let r = console
        .gql(
            ops::CREATE_ROLE,
            json!({"input": {"name": "Escalate", "permissions": ["DestinationModify"]}}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    console
        .ok(
            ops::CREATE_ROLE,
            json!({"input": {"name": "Readers", "permissions": ["AlertRead"]}}),
        )
        .await;
    // Tokens a user creates: within the role's permissions, recorded as theirs.
    let r = console
        .gql(
            ops::CREATE_TOKEN,
            json!({"input": {"name": "too-much", "permissions": ["AlertModify"]}}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    let t = console
        .ok(
            "mutation { createAPIToken(input: {name: \"mine\", permissions: [AlertRead]}) { token { id createdBy createdByActor { ... on User { email } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(t["createAPIToken"]["token"]["createdBy"], "mgr@example.com");
    assert_eq!(
        t["createAPIToken"]["token"]["createdByActor"]["email"],
        "mgr@example.com"
    );
    s.stop().await;
}

/// Sessions end when idle too long and at their absolute expiry (the clock is moved by
/// ageing the stored session).
async fn sessions_expire_when_idle_or_too_old(db: TestDb) {
    use herald::store::entities::session::{Column, Entity};
    use sea_orm::{EntityTrait, QueryFilter};
    let s = TestServer::start_with(&db, |a| {
        a.people.session_idle_minutes = 5;
        a.people.session_max_hours = 1;
    })
    .await;
    let (_, console) = sign_in(&s, "old@example.com", "Analyst").await;
    let hash = herald::auth::sessions::digest(&console.cookie);
    let row = Entity::find_by_id(hash.clone())
        .one(&s.services().db)
        .await
        .unwrap()
        .unwrap();
    // The configured absolute lifetime: one hour.
    assert_eq!(row.expires_at - row.created_at, 3_600_000);
    console.ok(ops::DESTINATION_IDS, json!({})).await;
    let age = |column: Column, by_ms: i64| {
        let db = s.services().db.clone();
        let hash = hash.clone();
        async move {
            use sea_orm::sea_query::Expr;
            Entity::update_many()
                .col_expr(column, Expr::col(column).sub(by_ms))
                .filter(<Column as sea_orm::ColumnTrait>::eq(&Column::IdHash, hash))
                .exec(&db)
                .await
                .unwrap();
        }
    };
    // Four idle minutes: still fine, and the request restarts the idle timer. Six more:
    // over the five-minute idle timeout.
    age(Column::LastSeenAt, 4 * 60_000).await;
    console.ok(ops::DESTINATION_IDS, json!({})).await;
    age(Column::LastSeenAt, 6 * 60_000).await;
    assert_eq!(
        console.post(ops::DESTINATION_IDS, json!({}), true).await.0,
        401
    );
    assert_eq!(console.me().await.0, 401);
    // A fresh session, busy but past its absolute expiry.
    let busy = login(&s, "old@example.com", PASSWORD)
        .await
        .expect("signs in");
    busy.ok(ops::DESTINATION_IDS, json!({})).await;
    let hash = herald::auth::sessions::digest(&busy.cookie);
    Entity::update_many()
        .col_expr(Column::ExpiresAt, sea_orm::sea_query::Expr::value(1i64))
        .filter(<Column as sea_orm::ColumnTrait>::eq(&Column::IdHash, hash))
        .exec(&s.services().db)
        .await
        .unwrap();
    assert_eq!(
        busy.post(ops::DESTINATION_IDS, json!({}), true).await.0,
        401
    );
    s.stop().await;
}

on_both!(
    sessions_expire_when_idle_or_too_old,
    invite_set_password_login_use_logout,
    cookie_posts_need_the_csrf_header,
    disabled_users_are_refused_at_login_and_mid_session,
    failed_logins_are_rate_limited_alike_for_unknown_and_known_emails,
    roles_built_in_unique_guarded_and_not_deleted_in_use,
    users_are_unique_validated_and_listed,
    users_only_grant_what_their_role_holds,
);
