//! GraphQL subscriptions over WebSocket on `/graphql` (and `/public/graphql`):
//! `graphql-transport-ws`, and the older `graphql-ws`, both from async-graphql-axum.
//!
//! Authenticated like HTTP requests: an API token in the `connection_init` payload
//! (`{"x-api-key": "…"}` or `{"Authorization": "Bearer …"}`), else in the upgrade
//! request's headers, else the console session cookie of a same-origin page. A bad
//! token in the headers or cookie refuses the upgrade (401, as HTTP); no token at all
//! closes the connection at `connection_init` with the reason. Only subscription
//! operations run here (queries and mutations go over HTTP, with their limits), at most
//! [`MAX_SUBSCRIPTIONS_PER_CONNECTION`] at once, on at most [`MAX_CONNECTIONS`]
//! connections per process; depth and complexity limits apply as to any request. A
//! connection without a successful `connection_init` within [`INIT_TIMEOUT`] is closed
//! (`4408`), and one whose token or session stops authenticating (revoked, expired,
//! signed out) is closed within [`RECHECK_EVERY`] (`4403`).
use super::{authenticate, console, presented_token, refuse, AppState};
use crate::auth::Principal;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, ErrorExtensions};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{FromRequestParts, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream::{BoxStream, StreamExt};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Open subscription connections one process accepts.
pub const MAX_CONNECTIONS: usize = 256;
/// Subscriptions one connection may run at once.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 16;
/// Largest WebSocket message accepted (a subscription document is small).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long a connection may stay open without a successful `connection_init`.
pub const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How often an open connection's token or session is checked again: one revoked,
/// expired or signed out closes the connection (`4403`).
pub const RECHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// The code of an operation refused because the connection runs too many.
pub const TOO_MANY_SUBSCRIPTIONS: &str = "TOO_MANY_SUBSCRIPTIONS";

/// Whether a request asks to switch to WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The slots of [`MAX_CONNECTIONS`], shared by the process's listeners.
pub fn connection_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS))
}

/// `GET /graphql` with `Upgrade: websocket`.
pub async fn upgrade(
    state: AppState,
    remote: SocketAddr,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let Ok(protocol) = GraphQLProtocol::from_request_parts(&mut parts, &()).await else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "a WebSocket on /graphql must offer the subprotocol graphql-transport-ws (or graphql-ws)",
        );
    };
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let headers = &parts.headers;
    // A token in the headers, or the session cookie, is checked before the upgrade; the
    // cookie only from a page of this origin (a WebSocket is not bound by CORS).
    let mut at_upgrade: Option<(Principal, HeaderMap)> = None;
    let cookie = console::session_cookie(headers).is_some();
    if presented_token(headers).is_some_and(|t| !t.is_empty()) || cookie {
        if presented_token(headers).is_none() && !same_origin(&state, headers) {
            tracing::warn!(%remote, "cross-origin WebSocket with the session cookie refused");
            return refuse(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "the session cookie is accepted on a WebSocket only from a page of this origin; send an API token in connection_init instead",
            );
        }
        match authenticate(&state, remote, headers, false).await {
            Ok(p) => at_upgrade = Some((p, credentials(headers))),
            Err(refused) => return refused,
        }
    }
    let Ok(slot) = state.http.live_connections.clone().try_acquire_owned() else {
        tracing::warn!(%remote, "subscription connection refused: {MAX_CONNECTIONS} are open");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "TOO_MANY_CONNECTIONS",
            format!(
                "this server already holds {MAX_CONNECTIONS} subscription connections; retry later"
            ),
        );
    };
    let executor = Connection {
        state: state.clone(),
        active: Arc::default(),
    };
    let limit = MAX_MESSAGE_BYTES.min(state.http.max_body_bytes);
    ws.protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            serve(socket, state, remote, executor, protocol, at_upgrade).await;
        })
}

/// The headers that authenticate a request (token headers, the cookie), kept to check
/// the connection's credentials again.
fn credentials(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [
        HeaderName::from_static("x-api-key"),
        axum::http::header::AUTHORIZATION,
        axum::http::header::COOKIE,
    ] {
        for v in headers.get_all(&name) {
            kept.append(name.clone(), v.clone());
        }
    }
    kept
}

/// Who a connection runs as, once `connection_init` succeeded: the credentials to check
/// again.
type SignedIn = Arc<std::sync::Mutex<Option<HeaderMap>>>;

/// Serve one connection until either side ends it, until the watch closes it (no
/// `connection_init` in time: `4408`; credentials no longer valid: `4403`), or until
/// the server stops (`1001`).
async fn serve(
    socket: axum::extract::ws::WebSocket,
    state: AppState,
    remote: SocketAddr,
    executor: Connection,
    protocol: GraphQLProtocol,
    at_upgrade: Option<(Principal, HeaderMap)>,
) {
    use axum::extract::ws::{CloseFrame, Message};
    use futures::SinkExt;
    let (mut sink, stream) = socket.split();
    // async-graphql writes into a channel forwarded to the socket, so the socket's
    // sending half stays here to close the connection with a reason.
    let (tx, mut rx) = futures::channel::mpsc::channel::<Message>(16);
    let signed_in = SignedIn::default();
    let graphql = GraphQLWebSocket::new_with_pair(tx, stream, executor, protocol)
        .on_connection_init({
            let (state, signed_in) = (state.clone(), signed_in.clone());
            move |payload| init(state, remote, payload, at_upgrade, signed_in)
        })
        .serve();
    let closed = {
        let forward = async {
            while let Some(m) = rx.next().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        };
        tokio::select! {
            _ = futures::future::join(graphql, forward) => None,
            why = watch(&state, remote, &signed_in) => Some(why),
            _ = state.http.live_stop.cancelled() => Some((1001, "the server is shutting down")),
        }
    };
    if let Some((code, reason)) = closed {
        tracing::info!(%remote, code, reason, "subscription connection closed");
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
}

/// Ends (with the close code and reason) when the connection must be closed: no
/// successful `connection_init` within [`INIT_TIMEOUT`], or credentials that no
/// longer authenticate (checked every [`RECHECK_EVERY`]; an unavailable store keeps
/// the connection). Otherwise never.
async fn watch(state: &AppState, remote: SocketAddr, signed_in: &SignedIn) -> (u16, &'static str) {
    tokio::time::sleep(INIT_TIMEOUT).await;
    loop {
        let held = signed_in.lock().ok().and_then(|h| h.clone());
        let Some(headers) = held else {
            return (4408, "connection_init was not received in time");
        };
        if let Err(refused) = authenticate(state, remote, &headers, false).await {
            if refused.status() != StatusCode::SERVICE_UNAVAILABLE {
                return (4403, "the token or session is no longer valid");
            }
        }
        tokio::time::sleep(RECHECK_EVERY).await;
    }
}

/// Whether the upgrade comes from a page of this server: its `Origin` names the host
/// the request was sent to, or the public URL. No `Origin` (not a browser) passes.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or_default();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let public = state.services.dispatcher.public_url().trim_end_matches('/');
    (!authority.is_empty() && authority.eq_ignore_ascii_case(host))
        || origin.eq_ignore_ascii_case(public)
}

/// `connection_init`: the payload's token, else who the upgrade authenticated, else
/// the connection is closed with the reason.
async fn init(
    state: AppState,
    remote: SocketAddr,
    payload: serde_json::Value,
    at_upgrade: Option<(Principal, HeaderMap)>,
    signed_in: SignedIn,
) -> async_graphql::Result<Data> {
    let mut headers = HeaderMap::new();
    if let Some(fields) = payload.as_object() {
        for (k, v) in fields {
            let name = k.to_ascii_lowercase();
            if name != "x-api-key" && name != "authorization" {
                continue;
            }
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name),
                v.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let (principal, credentials) = if presented_token(&headers).is_some_and(|t| !t.is_empty()) {
        match authenticate(&state, remote, &headers, false).await {
            Ok(p) => (p, headers),
            Err(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {
                return Err("the token store is unavailable; retry shortly".into())
            }
            Err(_) => return Err("the API token in connection_init is not valid".into()),
        }
    } else if let Some(upgrade) = at_upgrade {
        upgrade
    } else {
        tracing::info!(%remote, "subscription connection without an API token refused");
        // A close frame's reason holds at most 123 bytes.
        return Err("an API token is required: send {\"x-api-key\": \"<token>\"} or {\"Authorization\": \"Bearer <token>\"} in connection_init".into());
    };
    if let Ok(mut held) = signed_in.lock() {
        *held = Some(credentials);
    }
    let mut data = Data::default();
    data.insert(principal);
    Ok(data)
}

/// One connection's executor: only subscriptions, at most
/// [`MAX_SUBSCRIPTIONS_PER_CONNECTION`] at once, every error with a code, each result
/// within `HERALD_GRAPHQL_MAX_RESPONSE_BYTES`.
#[derive(Clone)]
struct Connection {
    state: AppState,
    active: Arc<AtomicUsize>,
}

/// One running subscription of a connection, given back when its stream is dropped
/// (completed by either side, or the connection closed).
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refused(code: &str, message: String) -> BoxStream<'static, async_graphql::Response> {
    let e = async_graphql::Error::new(message).extend_with(|_, x| x.set("code", code));
    let r = async_graphql::Response::from_errors(vec![e.into_server_error(Default::default())]);
    futures::stream::once(async move { r }).boxed()
}

/// Whether the operation a request would run is a subscription (an unparsable one is
/// left to the schema, which reports why).
fn is_subscription(req: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    let name = req.operation_name.clone();
    let Ok(doc) = req.parsed_query() else {
        return true;
    };
    let mut selected = doc.operations.iter().filter(|(op_name, _)| match &name {
        Some(wanted) => op_name.is_some_and(|n| n.as_str() == wanted),
        None => true,
    });
    match (selected.next(), selected.next()) {
        (Some((_, op)), None) => op.node.ty == OperationType::Subscription,
        // None or several: the schema says what is wrong.
        _ => true,
    }
}

impl async_graphql::Executor for Connection {
    async fn execute(&self, _request: async_graphql::Request) -> async_graphql::Response {
        // The WebSocket only streams; kept for the trait.
        let e = async_graphql::Error::new("only subscriptions run over WebSocket")
            .extend_with(|_, x| x.set("code", "BAD_REQUEST"));
        async_graphql::Response::from_errors(vec![e.into_server_error(Default::default())])
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        if !is_subscription(&mut request) {
            return refused(
                "BAD_REQUEST",
                "only subscriptions run over WebSocket; send queries and mutations over HTTP POST"
                    .into(),
            );
        }
        if self.active.fetch_add(1, Ordering::SeqCst) >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
            self.active.fetch_sub(1, Ordering::SeqCst);
            return refused(
                TOO_MANY_SUBSCRIPTIONS,
                format!(
                    "this connection already runs {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions; complete one first"
                ),
            );
        }
        let running = Running(self.active.clone());
        let state = self.state.clone();
        self.state
            .schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(move |response| {
                let _held = &running;
                // Codes on every error, and the response size limit, as over HTTP.
                super::finish(&state, response)
            })
            .boxed()
    }
}
