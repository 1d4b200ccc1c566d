//! The GraphiQL playground, served from the binary: pinned production builds of
//! GraphiQL, React and ReactDOM (`assets/graphiql/`, see its README) and a small page
//! that loads only them, from this server, so it works without internet access.
//! Subscriptions run over a WebSocket to the page's own path (`ws(s)://<host><path>`,
//! `graphql-transport-ws`, the token in `connection_init`): `herald-graphiql.js` picks
//! that transport for subscription operations; the CSP's `connect-src 'self'` allows it.
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

/// Where the assets are served; the page refers to them by these paths only.
pub const ASSET_PREFIX: &str = "/graphiql/";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "herald-graphiql.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/herald-graphiql.js"),
    },
];

/// Styles and scripts only from this origin; inline styles because GraphiQL sets
/// `style` attributes; `data:` for the fonts and icons inlined in GraphiQL's CSS.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `name?v=<first 16 hex digits of its SHA-256>`: the URL changes with the content,
/// so the assets can be cached for a year.
fn versioned(asset: &Asset) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(asset.bytes);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{ASSET_PREFIX}{}?v={hex}", asset.name)
}

fn url_of(name: &str) -> String {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(versioned)
        .unwrap_or_default()
}

/// The page, built once.
pub fn page() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| {
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald GraphQL</title>
<link rel="stylesheet" href="{css}">
<style>
html, body {{ height: 100%; margin: 0; }}
body {{ display: flex; flex-direction: column; font-family: system-ui, sans-serif; }}
#herald-token-form {{ display: flex; gap: .5rem; align-items: center; padding: .4rem .8rem; border-bottom: 1px solid #ddd; font-size: 14px; }}
#herald-token {{ flex: 0 1 28rem; font-family: monospace; }}
#herald-token-state {{ color: #666; }}
#graphiql {{ flex: 1; min-height: 0; }}
</style>
</head>
<body>
<form id="herald-token-form" autocomplete="off">
<label for="herald-token">API token (sent as X-API-Key, kept in this browser)</label>
<input id="herald-token" type="password" spellcheck="false">
<button type="submit">Use token</button>
<span id="herald-token-state"></span>
</form>
<div id="graphiql">Loading…</div>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphiql}"></script>
<script src="{herald}"></script>
</body>
</html>
"#,
            css = url_of("graphiql.min.css"),
            react = url_of("react.production.min.js"),
            react_dom = url_of("react-dom.production.min.js"),
            graphiql = url_of("graphiql.min.js"),
            herald = url_of("herald-graphiql.js"),
        )
    })
}

/// The page for a browser: not cached (it names the current asset versions), and a
/// content security policy that allows nothing from another origin.
pub fn page_response() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        page(),
    )
        .into_response()
}

/// `GET /graphiql/{name}`: an embedded asset, cacheable for a year.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut r = asset.bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_a_same_origin_path() {
        let page = page();
        for a in ASSETS {
            assert!(page.contains(&versioned(a)), "{} missing", a.name);
        }
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"));
    }
}
