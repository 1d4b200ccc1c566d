//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`,
//! which `.ci/run` installs) with `fantoccini`, for the console's end-to-end tests.
//!
//! `Browser::open(&server)` starts a chromedriver of its own on a free port and one
//! browser session; it answers `None` (and the test prints SKIPPED) only where Chromium
//! or chromedriver is not installed. Pages are found the way a person finds them: by
//! the text of labels, buttons and links. Every test saves screenshots under
//! `target/screenshots/` (`shot`), and `assert_no_console_errors` reads the browser's
//! log (a failed request or an uncaught exception in the page is an error).
#![allow(dead_code)]

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page may take to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Browser {
    pub client: Client,
    driver: Child,
    pub base: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn installed(candidates: &[&str]) -> Option<String> {
    candidates.iter().find_map(|c| {
        let ok = Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| c.to_string())
    })
}

/// The screenshots' folder: `target/screenshots/` of the checkout.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots can be created");
    dir
}

/// ChromeDriver's log endpoint (`POST /session/{id}/se/log`): the browser's console
/// messages since the last call.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

impl Browser {
    /// A browser at 1280×800 on `base` (`http://127.0.0.1:<port>`), or None where
    /// Chromium or chromedriver is missing.
    pub async fn open(base: &str, test: &str) -> Option<Browser> {
        let (Some(chromium), Some(driver)) = (
            installed(&["chromium", "chromium-browser", "google-chrome"]),
            installed(&["chromedriver"]),
        ) else {
            eprintln!(
                "SKIPPED {test}: chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)"
            );
            return None;
        };
        let chromium = which(&chromium);
        let port = super::process::free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile folder");
        let caps = json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--window-size=1280,800", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            match builder.capabilities(caps.clone()).connect(&webdriver).await {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver on {webdriver} did not start a session: {e}"),
            }
        };
        let b = Browser {
            client,
            driver,
            base: base.trim_end_matches('/').to_string(),
            _profile: profile,
        };
        b.resize(1280, 800).await;
        Some(b)
    }

    /// Opens a path of the server (`/alerts/…`) and waits for the console to render.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        self.wait_until(
            "the console rendered",
            "return !document.querySelector('.boot')",
        )
        .await;
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Runs `script` (a function body that returns a value) until it returns true.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let v = self.client.execute(script, vec![]).await;
            if matches!(v, Ok(Value::Bool(true))) {
                return;
            }
            if Instant::now() > deadline {
                let text = self.text().await;
                panic!(
                    "waited {PATIENCE:?} for {what} (last answer {v:?}) at {}; the page says:\n{text}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .execute("return document.body.innerText", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Waits until the page shows `text` (anywhere in its visible text).
    pub async fn see(&self, text: &str) {
        let script = format!(
            "return document.body.innerText.includes({})",
            serde_json::to_string(text).unwrap()
        );
        self.wait_until(&format!("{text:?} on the page"), &script)
            .await;
    }

    /// Waits until the page no longer shows `text`.
    pub async fn not_see(&self, text: &str) {
        let script = format!(
            "return !document.body.innerText.includes({})",
            serde_json::to_string(text).unwrap()
        );
        self.wait_until(&format!("{text:?} gone from the page"), &script)
            .await;
    }

    /// The form control labelled `label` (a `<label>`'s text, without the ` *` of a
    /// required field, or an `aria-label`), waiting for it to appear.
    pub async fn control(&self, label: &str) -> Element {
        let script = format!(
            r#"const want = {};
            const clean = (s) => s.replace(/\s*\*\s*$/, '').trim();
            for (const l of document.querySelectorAll('label')) {{
              if (clean(l.innerText) === want) {{
                const c = l.control || l.querySelector('input,select,textarea');
                if (c && c.offsetParent !== null) {{ c.setAttribute('data-t', want); return true; }}
              }}
            }}
            for (const c of document.querySelectorAll('[aria-label]')) {{
              if (c.getAttribute('aria-label') === want && c.offsetParent !== null) {{ c.setAttribute('data-t', want); return true; }}
            }}
            return false;"#,
            serde_json::to_string(label).unwrap()
        );
        self.wait_until(&format!("a control labelled {label:?}"), &script)
            .await;
        let css = format!("[data-t={}]", serde_json::to_string(label).unwrap());
        self.client
            .find(Locator::Css(&css))
            .await
            .expect("the control just marked")
    }

    /// Types `value` into the control labelled `label` (replacing what it held).
    pub async fn fill(&self, label: &str, value: &str) {
        let c = self.control(label).await;
        c.clear().await.expect("clear");
        c.send_keys(value).await.expect("type");
    }

    /// Chooses the option with this text in the `<select>` labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        let c = self.control(label).await;
        c.select_by_label(option).await.unwrap_or_else(|e| {
            panic!("{label:?} has no option {option:?}: {e}");
        });
    }

    /// Ticks (or unticks) the checkbox labelled `option` inside the group whose legend
    /// is `group` (or anywhere, when `group` is empty).
    pub async fn tick(&self, group: &str, option: &str, on: bool) {
        let script = format!(
            r#"const [g, o, on] = [{}, {}, {}];
            const scope = g ? [...document.querySelectorAll('fieldset')].find(f => f.querySelector('legend') && f.querySelector('legend').innerText.replace(/\s*\*\s*$/, '').trim() === g) : document;
            if (!scope) return false;
            const l = [...scope.querySelectorAll('label')].find(l => l.innerText.trim() === o);
            const c = l && (l.control || l.querySelector('input'));
            if (!c) return false;
            if (c.checked !== on) c.click();
            return c.checked === on;"#,
            serde_json::to_string(group).unwrap(),
            serde_json::to_string(option).unwrap(),
            on
        );
        self.wait_until(&format!("checkbox {option:?} in {group:?}"), &script)
            .await;
    }

    /// Clicks the enabled button (or link styled as one) whose text is `text`; with
    /// several, the first visible one.
    pub async fn click(&self, text: &str) {
        let script = format!(
            r#"const want = {};
            const all = [...document.querySelectorAll('button, a, [role=button], [role=tab], summary')];
            const b = all.find(b => b.innerText.trim() === want && b.offsetParent !== null && !b.disabled)
                   || all.find(b => b.getAttribute('aria-label') === want && b.offsetParent !== null && !b.disabled);
            if (!b) return false;
            document.querySelectorAll('[data-tb]').forEach(e => e.removeAttribute('data-tb'));
            b.setAttribute('data-tb', '1');
            return true;"#,
            serde_json::to_string(text).unwrap()
        );
        self.wait_until(&format!("a button {text:?}"), &script)
            .await;
        let b = self
            .client
            .find(Locator::Css("[data-tb='1']"))
            .await
            .expect("the button just marked");
        b.click()
            .await
            .unwrap_or_else(|e| panic!("click {text:?}: {e}"));
    }

    /// Whether a visible, enabled button or link with this text is on the page now.
    pub async fn has_button(&self, text: &str) -> bool {
        let script = format!(
            r#"const want = {};
            return [...document.querySelectorAll('button, a, [role=button]')]
              .some(b => b.innerText.trim() === want && b.offsetParent !== null && !b.disabled);"#,
            serde_json::to_string(text).unwrap()
        );
        matches!(
            self.client.execute(&script, vec![]).await,
            Ok(Value::Bool(true))
        )
    }

    /// Saves a PNG of the window as `target/screenshots/<name>.png`.
    pub async fn shot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot saved");
        path
    }

    /// Resizes the page's viewport (390×844 for a phone): the window is made larger by
    /// what the browser's own frame takes.
    pub async fn resize(&self, width: u32, height: u32) {
        let frame = self
            .client
            .execute(
                "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]",
                vec![],
            )
            .await
            .expect("window size");
        let d = |i: usize| frame[i].as_u64().unwrap_or(0) as u32;
        self.client
            .set_window_size(width + d(0), height + d(1))
            .await
            .expect("resize");
    }

    /// The browser's console messages at SEVERE level since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("chromedriver's log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Fails the test if the page logged an error, except ones containing any of `expected`.
    pub async fn assert_no_console_errors(&self, expected: &[&str]) {
        let errors: Vec<String> = self
            .console_errors()
            .await
            .into_iter()
            .filter(|e| !expected.iter().any(|x| e.contains(x)))
            .collect();
        assert!(errors.is_empty(), "the console logged errors: {errors:#?}");
    }

    /// Signs in with e-mail and password on the sign-in page (the browser must be on it).
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.fill("E-mail", email).await;
        self.fill("Password", password).await;
        self.click("Sign in").await;
        self.wait_until(
            "signed in",
            "return !location.pathname.startsWith('/signin') && !!document.querySelector('nav.top')",
        )
        .await;
    }

    /// Signs in with an API token on the sign-in page.
    pub async fn sign_in_with_token(&self, token: &str) {
        self.click("API token").await;
        self.fill("API token", token).await;
        self.click("Sign in").await;
        self.wait_until(
            "signed in",
            "return !location.pathname.startsWith('/signin') && !!document.querySelector('nav.top')",
        )
        .await;
    }

    /// Ends the browser session (the driver stops when `self` drops).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

fn which(name: &str) -> String {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| name.to_string())
}
