//! The web console: the files of `console/web/` (see `console/README.md`), embedded in
//! the binary by `rust-embed` (a debug build reads them from the folder, so editing a
//! page needs no rebuild). `GET /` and every page path of the console (`/alerts/<id>`,
//! the `link` of each payload, among them) answer with `index.html`; the page's script
//! reads the path. Assets are under `/ui/`. The console talks to the server only
//! through the public API: `/auth/*`, `/graphql` and its WebSocket.
use super::AppState;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[derive(rust_embed::RustEmbed)]
#[folder = "console/web/"]
struct Files;

/// Scripts and styles only from this origin (no inline script at all); `'unsafe-inline'`
/// styles because the chart library sizes its canvas with `style` attributes; the API
/// and its WebSocket on this origin only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The console's page paths (each answers with `index.html`).
const PAGES: &[&str] = &[
    "/",
    "/signin",
    "/dashboard",
    "/alerts",
    "/alerts/{*rest}",
    "/destinations",
    "/destinations/{*rest}",
    "/overrides",
    "/overrides/{*rest}",
    "/settings",
    "/settings/{*rest}",
];

pub fn routes() -> Router<AppState> {
    let mut r = Router::new().route("/ui/{*path}", get(asset));
    for page in PAGES {
        r = r.route(page, get(index));
    }
    r
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// One embedded file, revalidated by its SHA-256 (`ETag`, `no-cache`): a new binary's
/// console is never mixed with a cached old script.
fn file(path: &str, headers: &HeaderMap) -> Response {
    let Some(f) = Files::get(path) else {
        return (StatusCode::NOT_FOUND, "no such file in the console").into_response();
    };
    let hash = f.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(path))],
            f.data.into_owned(),
        )
            .into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // `index.html` only at the page paths, where it gets its headers.
    if path == "index.html" || path.split('/').any(|part| part == "..") {
        return (StatusCode::NOT_FOUND, "no such file in the console").into_response();
    }
    file(&path, &headers)
}

async fn index(headers: HeaderMap) -> Response {
    let mut r = file("index.html", &headers);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_type_and_the_page_exists() {
        assert!(Files::get("index.html").is_some());
        for name in Files::iter() {
            assert_ne!(
                content_type(&name),
                "application/octet-stream",
                "{name} would be served without a content type"
            );
        }
    }
}
