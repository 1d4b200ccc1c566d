//! Live updates: GraphQL subscriptions over WebSocket (`graphql-transport-ws`) on
//! `/graphql`, with a real client (tokio-tungstenite) against the real server.
//! Authentication as over HTTP (token in `connection_init`, token header, session
//! cookie), permissions per subscription, the per-connection cap, and the events
//! themselves: alerts created and updated, deliveries while a receiver gets them.
use crate::ops;
use crate::people::sign_in;
use crate::support::{eventually, str_of, NewAlert, Receiver, Reply, TestDb, TestServer};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(15);

const ALERT_CREATED: &str = "subscription { alertCreated { id title status eventCount } }";
const ALERT_UPDATED: &str =
    "subscription { alertUpdated { id status eventCount assigneeId comments { body } } }";
const DELIVERY_UPDATED: &str = "subscription($alertId: ID) { deliveryUpdated(alertId: $alertId) { deliveryId alertId status kind attemptCount attempts { attemptNumber statusCode success } } }";

/// A `graphql-transport-ws` client.
struct Live {
    ws: Ws,
}

/// Open a WebSocket to `/graphql` offering `graphql-transport-ws`, with extra headers.
async fn connect(s: &TestServer, headers: &[(&str, String)]) -> Result<Ws, tungstenite::Error> {
    let url = format!("{}/graphql", s.url.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().expect("a request");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// The HTTP status an upgrade was refused with.
fn refused_status(r: Result<Ws, tungstenite::Error>) -> u16 {
    match r {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("not an HTTP refusal: {e}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

impl Live {
    /// Connected and acknowledged with this `connection_init` payload.
    async fn open(s: &TestServer, headers: &[(&str, String)], payload: Value) -> Live {
        let mut live = Live {
            ws: connect(s, headers).await.expect("the upgrade is accepted"),
        };
        live.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        let ack = live.next().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        live
    }

    /// Connected with the admin token in the payload.
    async fn admin(s: &TestServer) -> Live {
        Live::open(s, &[], json!({"x-api-key": s.token})).await
    }

    async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// The next protocol message (pings answered); panics on close or timeout.
    async fn next(&mut self) -> Value {
        loop {
            match self.frame().await {
                Ok(v) if v["type"] == "ping" => self.send(json!({"type": "pong"})).await,
                Ok(v) => return v,
                Err((code, reason)) => panic!("closed ({code}): {reason}"),
            }
        }
    }

    /// The next text message as JSON, or the close frame (code, reason).
    async fn frame(&mut self) -> Result<Value, (u16, String)> {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time");
            match m {
                Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).unwrap()),
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new())))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err((0, e.to_string())),
                None => return Err((1006, "stream ended".into())),
            }
        }
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next message about subscription `id` (others are dropped).
    async fn next_for(&mut self, id: &str) -> Value {
        loop {
            let m = self.next().await;
            if m["id"] == id {
                return m;
            }
        }
    }

    /// The `data` of the next result of `id`, which must have no errors.
    async fn data_for(&mut self, id: &str) -> Value {
        let m = self.next_for(id).await;
        assert_eq!(m["type"], "next", "{m}");
        assert!(m["payload"].get("errors").is_none(), "{m}");
        m["payload"]["data"].clone()
    }
}

/// Wait until the server's bus has this many subscribers (a subscription listens from
/// when the server first polls it, after the `subscribe` message arrives).
async fn watched_by(s: &TestServer, n: usize) {
    eventually(WAIT, "subscribers to listen", || async {
        (s.services().live.watchers() >= n).then_some(())
    })
    .await
}

/// A token with only these permissions.
async fn token_with(s: &TestServer, name: &str, perms: &[herald::auth::Permission]) -> String {
    s.services()
        .tokens
        .create(name, perms, None, &[], "tests")
        .await
        .expect("token")
        .value
}

async fn alerts_created_and_updated(db: TestDb) {
    let s = TestServer::start(&db).await;
    let mut live = Live::admin(&s).await;
    live.subscribe("created", ALERT_CREATED, json!({})).await;
    live.subscribe("updated", ALERT_UPDATED, json!({})).await;
    watched_by(&s, 2).await;

    // Created through the API: heard once committed.
    let first = NewAlert {
        title: "live one",
        dedup_string: Some("k"),
        ..Default::default()
    };
    let id = s.create_alert(first.clone()).await;
    let created = live.data_for("created").await["alertCreated"].clone();
    assert_eq!(str_of(&created["id"]), id);
    assert_eq!(created["title"], "live one");
    assert_eq!(created["status"], "OPEN");
    assert_eq!(created["eventCount"], 1);

    // The same match again joins it (dedup): an update, not a creation.
    assert_eq!(s.create_alert(first).await, id);
    let joined = live.data_for("updated").await["alertUpdated"].clone();
    assert_eq!(str_of(&joined["id"]), id);
    assert_eq!(joined["eventCount"], 2);

    // A status change.
    s.ok(
        ops::UPDATE_ALERT_STATUS,
        json!({"input": {"ids": [id], "status": "TRIAGED"}}),
    )
    .await;
    let triaged = live.data_for("updated").await["alertUpdated"].clone();
    assert_eq!(str_of(&triaged["id"]), id);
    assert_eq!(triaged["status"], "TRIAGED");

    // A comment.
    s.ok(
        ops::CREATE_ALERT_COMMENT,
        json!({"input": {"alertId": id, "body": "looking"}}),
    )
    .await;
    let commented = live.data_for("updated").await["alertUpdated"].clone();
    assert_eq!(commented["comments"][0]["body"], "looking");

    // A batch: every new alert once.
    s.ok(
        "mutation($input: [CreateAlertInput!]!) { createAlerts(input: $input) { id } }",
        json!({"input": [
            Value::from(NewAlert { title: "batch a", dedup_string: Some("a"), ..Default::default() }),
            Value::from(NewAlert { title: "batch b", dedup_string: Some("b"), ..Default::default() }),
        ]}),
    )
    .await;
    let a = live.data_for("created").await["alertCreated"]["title"].clone();
    let b = live.data_for("created").await["alertCreated"]["title"].clone();
    assert_eq!((a, b), (json!("batch a"), json!("batch b")));

    // Completing a subscription stops it (the server lets go of its listener).
    live.send(json!({"id": "created", "type": "complete"}))
        .await;
    eventually(
        WAIT,
        "the completed subscription to stop listening",
        || async { (s.services().live.watchers() == 1).then_some(()) },
    )
    .await;
    drop(live);
    s.stop().await;
}

async fn deliveries_while_the_receiver_gets_them(db: TestDb) {
    let s = TestServer::start(&db).await;
    let receiver = Receiver::start().await;
    // A slow receiver: the delivery is heard queued before its attempt is.
    receiver.default_reply(Reply::status(200).delay(Duration::from_millis(500)));
    let hook = s.add_webhook("Live hook", &receiver.url, &["HIGH"]).await;
    let mut live = Live::admin(&s).await;
    live.subscribe("all", DELIVERY_UPDATED, json!({})).await;
    watched_by(&s, 1).await;

    let id = s
        .create_alert(NewAlert {
            title: "delivered live",
            ..Default::default()
        })
        .await;
    let queued = live.data_for("all").await["deliveryUpdated"].clone();
    assert_eq!(str_of(&queued["alertId"]), id);
    assert_eq!(queued["attemptCount"], 0, "heard when queued: {queued}");
    assert!(
        queued["status"] == "PENDING" || queued["status"] == "IN_FLIGHT",
        "{queued}"
    );
    let d = live.data_for("all").await["deliveryUpdated"].clone();
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(d["deliveryId"], queued["deliveryId"]);
    assert_eq!(str_of(&d["alertId"]), id);
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["kind"], "ROUTED");
    assert_eq!(d["attemptCount"], 1);
    assert_eq!(d["attempts"][0]["statusCode"], 200);

    // Filtered to one alert: another alert's deliveries are not heard; a re-send of
    // this one is (queued, then its attempt).
    live.send(json!({"id": "all", "type": "complete"})).await;
    live.subscribe("one", DELIVERY_UPDATED, json!({"alertId": id}))
        .await;
    eventually(WAIT, "the filtered subscription to listen", || async {
        (s.services().live.watchers() == 1).then_some(())
    })
    .await;
    let other = s
        .create_alert(NewAlert {
            title: "someone else's",
            dedup_string: Some("another"),
            ..Default::default()
        })
        .await;
    assert_ne!(other, id);
    s.settled(&other, WAIT).await;
    s.ok(
        ops::DELIVER_ALERT,
        json!({"input": {"alertId": id, "outputIds": [hook]}}),
    )
    .await;
    loop {
        let d = live.data_for("one").await["deliveryUpdated"].clone();
        assert_eq!(
            str_of(&d["alertId"]),
            id,
            "only this alert's deliveries: {d}"
        );
        assert_eq!(d["kind"], "RESEND", "{d}");
        if d["status"] == "SUCCEEDED" {
            break;
        }
        assert_ne!(d["status"], "FAILED", "{d}");
    }
    assert_eq!(receiver.requests().len(), 3);
    drop(live);
    s.stop().await;
}

async fn no_token_no_connection(db: TestDb) {
    let s = TestServer::start(&db).await;
    // No token anywhere: closed at connection_init, saying why.
    let mut ws = Live {
        ws: connect(&s, &[]).await.expect("upgraded"),
    };
    ws.send(json!({"type": "connection_init", "payload": {}}))
        .await;
    let (code, reason) = ws.frame().await.expect_err("closed");
    assert!(code >= 1000, "{code}");
    assert!(reason.contains("API token is required"), "{reason}");
    assert!(reason.contains("connection_init"), "{reason}");

    // A wrong token in the payload: closed too.
    let mut ws = Live {
        ws: connect(&s, &[]).await.expect("upgraded"),
    };
    ws.send(json!({"type": "connection_init", "payload": {"Authorization": "Bearer not-a-token"}}))
        .await;
    let (_, reason) = ws.frame().await.expect_err("closed");
    assert!(reason.contains("not valid"), "{reason}");

    // A subscription before connection_init never runs.
    let mut ws = Live {
        ws: connect(&s, &[]).await.expect("upgraded"),
    };
    ws.subscribe("early", ALERT_CREATED, json!({})).await;
    assert!(ws.frame().await.is_err(), "closed without an answer");

    // A wrong token header, or a wrong session cookie: the upgrade is refused (401).
    let bad = connect(&s, &[("x-api-key", "nope".into())]).await;
    assert_eq!(refused_status(bad), 401);
    let bad = connect(&s, &[("cookie", "herald_session=nope".into())]).await;
    assert_eq!(refused_status(bad), 401);

    // A valid token header at the upgrade is enough.
    let mut live = Live::open(&s, &[("x-api-key", s.token.clone())], json!({})).await;
    live.subscribe("ok", ALERT_CREATED, json!({})).await;
    watched_by(&s, 1).await;
    let id = s.create_alert(NewAlert::default()).await;
    assert_eq!(str_of(&live.data_for("ok").await["alertCreated"]["id"]), id);
    assert_eq!(s.services().live.watchers(), 1);
    drop(live);
    s.stop().await;
}

async fn permissions_and_limits_per_subscription(db: TestDb) {
    use herald::auth::Permission;
    let s = TestServer::start(&db).await;
    let weak = token_with(&s, "no-alert-read", &[Permission::DestinationRead]).await;
    let mut live = Live::open(&s, &[], json!({"x-api-key": weak})).await;
    for (id, query) in [
        ("c", ALERT_CREATED),
        ("u", ALERT_UPDATED),
        ("d", DELIVERY_UPDATED),
    ] {
        live.subscribe(id, query, json!({})).await;
        let m = live.next_for(id).await;
        let e = &m["payload"]["errors"][0];
        assert_eq!(e["extensions"]["code"], "FORBIDDEN", "{m}");
        assert!(e["message"].as_str().unwrap().contains("AlertRead"), "{m}");
        assert_eq!(live.next_for(id).await["type"], "complete");
    }
    assert_eq!(s.services().live.watchers(), 0, "nothing listens for it");

    // Only subscriptions run here: a query is refused with a code.
    let mut live = Live::admin(&s).await;
    live.subscribe("q", "{ destinations { outputId } }", json!({}))
        .await;
    let m = live.next_for("q").await;
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{m}"
    );

    // A bad document gets a typed error, not a closed connection.
    live.subscribe("bad", "subscription { alertCreated { nope } }", json!({}))
        .await;
    let m = live.next_for("bad").await;
    assert!(
        m.to_string().contains("GRAPHQL_VALIDATION_FAILED")
            || m.to_string().contains("BAD_USER_INPUT"),
        "{m}"
    );

    // At most 16 at once on one connection; the 17th is refused, the others run.
    let cap = herald::http::live::MAX_SUBSCRIPTIONS_PER_CONNECTION;
    for i in 0..cap {
        live.subscribe(&format!("s{i}"), ALERT_CREATED, json!({}))
            .await;
    }
    watched_by(&s, cap).await;
    live.subscribe("over", ALERT_CREATED, json!({})).await;
    let m = live.next_for("over").await;
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{m}"
    );
    // Completing one frees its place.
    live.send(json!({"id": "s0", "type": "complete"})).await;
    eventually(WAIT, "the place to be freed", || async {
        (s.services().live.watchers() == cap - 1).then_some(())
    })
    .await;
    live.subscribe("again", ALERT_CREATED, json!({})).await;
    watched_by(&s, cap).await;
    let id = s.create_alert(NewAlert::default()).await;
    assert_eq!(
        str_of(&live.data_for("again").await["alertCreated"]["id"]),
        id
    );
    drop(live);
    s.stop().await;
}

async fn the_session_cookie_works_from_this_origin(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (_, console) = sign_in(&s, "live@example.com", "AnalystReadOnly").await;
    let cookie = format!("herald_session={}", console.cookie);
    let host = s.url.trim_start_matches("http://").to_string();

    // From another origin the cookie is refused before the upgrade.
    let cross = connect(
        &s,
        &[
            ("cookie", cookie.clone()),
            ("origin", "https://elsewhere.example".into()),
        ],
    )
    .await;
    assert_eq!(refused_status(cross), 403);

    // From a page of this origin it signs the connection in (no token in the payload).
    let mut live = Live::open(
        &s,
        &[("cookie", cookie), ("origin", format!("http://{host}"))],
        json!({}),
    )
    .await;
    live.subscribe("mine", ALERT_CREATED, json!({})).await;
    watched_by(&s, 1).await;
    let id = s
        .create_alert(NewAlert {
            title: "seen by the console",
            ..Default::default()
        })
        .await;
    let a = live.data_for("mine").await["alertCreated"].clone();
    assert_eq!(str_of(&a["id"]), id);
    assert_eq!(a["title"], "seen by the console");
    // Stopping the server with the connection open: it stops, and the connection ends.
    tokio::time::timeout(WAIT, s.stop())
        .await
        .expect("the server stops with a subscription open");
    let (code, reason) = live
        .frame()
        .await
        .expect_err("the connection ends with the server");
    assert_eq!(code, 1001, "{reason}");
}

async fn idle_and_revoked_connections_are_closed(db: TestDb) {
    let s = TestServer::start(&db).await;
    // Upgraded, but never initialised.
    let mut idle = Live {
        ws: connect(&s, &[]).await.expect("upgraded"),
    };
    // Initialised with a token that is then deleted.
    let t = s
        .ok(
            ops::CREATE_TOKEN,
            json!({"input": {"name": "short-lived live", "permissions": ["AlertRead"]}}),
        )
        .await["createAPIToken"]["token"]
        .clone();
    let mut revoked = Live::open(&s, &[], json!({"x-api-key": t["value"]})).await;
    revoked.subscribe("r", ALERT_CREATED, json!({})).await;
    watched_by(&s, 1).await;
    // Still valid: it goes on hearing events.
    let kept = Live::admin(&s).await;
    s.ok(ops::DELETE_TOKEN, json!({"id": t["id"]})).await;

    let (code, reason) = idle.frame().await.expect_err("closed");
    assert_eq!(code, 4408, "{reason}");
    assert!(reason.contains("connection_init"), "{reason}");
    let closed = loop {
        match revoked.frame().await {
            Ok(m) => assert_ne!(
                m["type"], "next",
                "nothing is heard after the token is gone: {m}"
            ),
            Err(closed) => break closed,
        }
    };
    assert_eq!(closed.0, 4403, "{closed:?}");
    assert!(closed.1.contains("no longer valid"), "{closed:?}");
    eventually(
        WAIT,
        "the revoked subscription to stop listening",
        || async { (s.services().live.watchers() == 0).then_some(()) },
    )
    .await;
    // The admin's connection, checked again meanwhile, is still open.
    let mut kept = kept;
    kept.subscribe("k", ALERT_CREATED, json!({})).await;
    watched_by(&s, 1).await;
    let id = s.create_alert(NewAlert::default()).await;
    assert_eq!(str_of(&kept.data_for("k").await["alertCreated"]["id"]), id);
    drop(kept);
    s.stop().await;
}

/// A subscriber that stops reading never holds up ingestion: once more than the bus
/// keeps has happened, it is told how many events it missed, and carries on.
async fn a_stalled_subscriber_lags_and_ingestion_goes_on(db: TestDb) {
    let s = TestServer::start(&db).await;
    let mut live = Live::admin(&s).await;
    // Each result is large (the context selected 30 times), so a client that does not
    // read fills the socket's buffers after the first few.
    let aliases: String = (0..30).map(|i| format!("c{i}: alertContext ")).collect();
    live.subscribe(
        "big",
        &format!("subscription {{ alertCreated {{ id {aliases} }} }}"),
        json!({}),
    )
    .await;
    watched_by(&s, 1).await;
    let filler = "x".repeat(100_000);
    for i in 0..4 {
        s.create_alert(
            json!({"detectionId": "Big", "title": "big", "severity": "LOW",
            "dedupString": format!("big-{i}"), "alertContext": {"filler": filler}}),
        )
        .await;
    }
    // More events than the bus keeps, while the subscriber reads nothing: ingestion
    // answers at its usual pace.
    let started = std::time::Instant::now();
    let total = herald::domain::live::CAPACITY + 200;
    let inputs: Vec<Value> = (0..total)
        .map(|i| json!({"detectionId": "Small", "title": "small", "severity": "LOW", "dedupString": format!("s-{i}")}))
        .collect();
    for chunk in inputs.chunks(500) {
        s.ok(
            "mutation($input: [CreateAlertInput!]!) { createAlerts(input: $input) { id } }",
            json!({ "input": chunk }),
        )
        .await;
    }
    assert!(
        started.elapsed() < WAIT,
        "ingestion was held up: {:?}",
        started.elapsed()
    );
    // Reading again: the big results, then the lag, then it goes on.
    let mut lagged = None;
    let mut after = 0;
    while after < 5 {
        let m = live.next_for("big").await;
        assert_eq!(m["type"], "next", "{m}");
        if let Some(e) = m["payload"]["errors"].get(0) {
            assert_eq!(e["extensions"]["code"], "SUBSCRIPTION_LAGGED", "{m}");
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains("events were skipped"),
                "{m}"
            );
            lagged = Some(m);
        } else if lagged.is_some() {
            after += 1;
        }
    }
    assert!(lagged.is_some());
    drop(live);
    s.stop().await;
}

on_both!(
    alerts_created_and_updated,
    a_stalled_subscriber_lags_and_ingestion_goes_on,
    idle_and_revoked_connections_are_closed,
    deliveries_while_the_receiver_gets_them,
    no_token_no_connection,
    permissions_and_limits_per_subscription,
    the_session_cookie_works_from_this_origin,
);
