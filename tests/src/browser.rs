//! Headless Chromium driven over WebDriver (Debian's chromium + chromium-driver),
//! with a fresh profile per browser. The WebDriver calls are plain JSON over HTTP.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where Debian puts them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser with its own profile directory.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    pub profile: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// When a start drew the customer list ([`Browser::unlock_timing_rows`]),
/// in the page's milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct RowTimes {
    /// 解锁 pressed.
    pub pressed: f64,
    /// The first row in the page.
    pub first: f64,
    /// Every row in the page.
    pub all: f64,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Browser {
        let dir = tempfile::tempdir().expect("profile dir");
        let profile = dir.path().join("profile");
        let mut b = Self::start_with_profile(profile).await;
        b._dir = Some(dir);
        b
    }

    /// Starts a browser on an existing profile (to reopen after a crash).
    pub async fn start_with_profile(profile: PathBuf) -> Browser {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: run `cargo xtask test`, which installs chromium and chromium-driver"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        // A script may wait up to two minutes for a busy page (a tablet at 4×
        // CPU syncing a thousand customers, with another test beside it):
        // what the tests assert is the outcome, not how fast it came.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "timeouts": {"script": 120_000},
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                    "--disable-dev-shm-usage", "--window-size=1280,800",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}});
        let start = Instant::now();
        let session = loop {
            match http
                .post(format!("{base}/session"))
                .json(&caps)
                .send()
                .await
            {
                Ok(r) => {
                    let v: Value = r.json().await.expect("session json");
                    match v["value"]["sessionId"].as_str() {
                        Some(id) => break id.to_string(),
                        None => panic!("chromedriver refused the session: {v}"),
                    }
                }
                Err(_) if start.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("chromedriver did not answer: {e}"),
            }
        };
        Browser {
            driver,
            base,
            session,
            http,
            profile,
            _dir: None,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = self.http.request(method.clone(), &url);
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let res = req.send().await.expect("webdriver request");
        let v: Value = res.json().await.expect("webdriver json");
        if v["value"]["error"].is_string() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    /// Opens a URL and waits for the page load.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
        self.unlock_if_asked().await;
    }

    /// The app asks a signed-in user for their password at each start (the
    /// tablet's data is encrypted): typed here as the user would, so tests
    /// of other things go on. Tests of the unlock itself use
    /// [`Browser::refresh_locked`].
    pub async fn unlock_if_asked(&self) {
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(30) {
            let state = self
                .js(
                    "if (!document.querySelector('script[src*=boot]')) return 'not the app';
                     const f = document.querySelector('form.unlock');
                     if (f) return f.querySelector('button[type=submit]').disabled ? 'starting' : 'locked';
                     if (document.querySelector('form.login, .status')) return 'open';
                     return 'starting';",
                    json!([]),
                )
                .await;
            match state.as_str() {
                Some("locked") => {
                    self.fill("form.unlock input[name=password]", crate::PASSWORD)
                        .await;
                    self.click("form.unlock button[type=submit]").await;
                    // On until the form is gone (the key derivation takes a moment).
                }
                Some("starting") => {}
                _ => return,
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Opens a new tab of the same browser (same profile, same IndexedDB) and
    /// switches to it; returns its handle.
    pub async fn new_tab(&self) -> String {
        let v = self
            .call(reqwest::Method::POST, "/window/new", json!({"type": "tab"}))
            .await;
        let handle = v["handle"].as_str().expect("a tab handle").to_string();
        self.switch_to(&handle).await;
        handle
    }

    /// Resizes the window (a tablet held the other way up: 800×1280).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Closes the tab commands go to (switch to another one next).
    pub async fn close_tab(&self) {
        self.call(reqwest::Method::DELETE, "/window", json!({}))
            .await;
    }

    /// The handle of the tab commands go to.
    pub async fn current_tab(&self) -> String {
        self.call(reqwest::Method::GET, "/window", json!({}))
            .await
            .as_str()
            .expect("a tab handle")
            .to_string()
    }

    /// Sends the next commands to tab `handle`.
    pub async fn switch_to(&self, handle: &str) {
        self.call(reqwest::Method::POST, "/window", json!({"handle": handle}))
            .await;
    }

    /// Runs a Chrome DevTools Protocol command (CPU throttling, network
    /// emulation) through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await
    }

    /// Reloads the page.
    pub async fn refresh(&self) {
        self.refresh_locked().await;
        self.unlock_if_asked().await;
    }

    /// Reloads, waits for the unlock form and types the password, leaving
    /// the press of 解锁 to the caller (tests and benchmarks of the start
    /// watch what follows it). Returns `performance.now()` when the form
    /// was there.
    pub async fn reload_to_unlock(&self) -> f64 {
        self.refresh_locked().await;
        let at = self
            .wait(
                "the unlock form",
                Duration::from_secs(60),
                "return document.querySelector('form.unlock button[type=submit]') ? performance.now() : null",
                json!([]),
            )
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        self.fill("form.unlock input[name=password]", crate::PASSWORD)
            .await;
        at
    }

    /// Reloads and leaves the app as it starts (locked, for a signed-in user).
    pub async fn refresh_locked(&self) {
        self.call(reqwest::Method::POST, "/refresh", json!({}))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Runs `script` asynchronously: it calls its last argument with the result.
    pub async fn js_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Polls `script` until it returns something truthy; panics with `what` after `timeout`.
    pub async fn wait(&self, what: &str, timeout: Duration, script: &str, args: Value) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(script, args.clone()).await;
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if start.elapsed() > timeout {
                let script = "const s = document.querySelector('.status');
                    return (s ? JSON.stringify(s.dataset) + '\\n' : '') + (document.body ? document.body.innerText : '')";
                let body = self.js(script, json!([])).await;
                let logs = self.console().await;
                panic!(
                    "timed out after {timeout:?} waiting for {what}; page:\n{}\nconsole:\n{logs}",
                    body.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The browser console's messages since the last call.
    pub async fn console(&self) -> String {
        let url = format!("{}/session/{}/se/log", self.base, self.session);
        let Ok(res) = self
            .http
            .post(&url)
            .json(&json!({"type": "browser"}))
            .send()
            .await
        else {
            return String::new();
        };
        let v: Value = res.json().await.unwrap_or_default();
        v["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| format!("{} {}", m["level"], m["message"]))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Whether the console says `text` within `timeout` (reading the
    /// console's messages since the last call).
    pub async fn console_says(&self, text: &str, timeout: Duration) -> bool {
        let (mut seen, start) = (String::new(), Instant::now());
        while !seen.contains(text) {
            if start.elapsed() > timeout {
                return false;
            }
            seen.push_str(&self.console().await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        true
    }

    /// Scrolls the customer list to its end until every line shown is drawn
    /// (the list draws a page at a time as its end comes near); returns how
    /// many are drawn.
    pub async fn draw_whole_list(&self) -> usize {
        self.wait(
            "every line of the list drawn",
            Duration::from_secs(120),
            "window.scrollTo(0, document.body.scrollHeight);
             const ul = document.querySelector('ul.rows');
             const n = document.querySelectorAll('li.row').length;
             const end = window.scrollY + window.innerHeight >= document.body.scrollHeight - 2;
             return ul && end && !document.querySelector('li.more') && n",
            json!([]),
        )
        .await
        .as_u64()
        .unwrap_or(0) as usize
    }

    /// Whether the app says, within `timeout`, that it kept its list index
    /// with `n` customers (a few seconds after the list last changed; an
    /// app from before the index never says so).
    pub async fn list_index_kept(&self, n: usize, timeout: Duration) -> bool {
        self.console_says(&format!("list index kept: {n} customers"), timeout)
            .await
    }

    /// Presses 解锁 (the unlock form showing) with an observer in the page
    /// noting when the first customer row went into it and when the list
    /// had `n` customers (its first page drawn: the list draws the rest as
    /// it is scrolled); returns those times and the press's, in the page's
    /// milliseconds, once `n` are listed. An observer: polling waits behind
    /// the work that follows the rows.
    pub async fn unlock_timing_rows(&self, n: usize, timeout: Duration) -> RowTimes {
        let pressed = self
            .js(
                "window.firstRow = null; window.allRows = null;
                 new MutationObserver((_, o) => {
                   const k = document.querySelectorAll('li.row').length;
                   const ul = document.querySelector('ul.rows');
                   if (k && window.firstRow === null) window.firstRow = performance.now();
                   if (k && ul && Number(ul.dataset.listed ?? k) === arguments[0]) { window.allRows = performance.now(); o.disconnect(); }
                 }).observe(document.body, {childList: true, subtree: true});
                 document.querySelector('form.unlock button[type=submit]').click();
                 return performance.now();",
                json!([n]),
            )
            .await;
        let times = self
            .wait(
                "every customer listed",
                timeout,
                "return window.allRows !== null && [window.firstRow, window.allRows]",
                json!([]),
            )
            .await;
        let ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        RowTimes {
            pressed: ms(&pressed),
            first: ms(&times[0]),
            all: ms(&times[1]),
        }
    }

    /// Sets the value of the element matching `selector` and fires `input` and `change`.
    pub async fn fill(&self, selector: &str, value: &str) {
        let ok = self
            .js(
                "const el = document.querySelector(arguments[0]); if (!el) return false;
                 el.value = arguments[1];
                 el.dispatchEvent(new Event('input', {bubbles: true}));
                 el.dispatchEvent(new Event('change', {bubbles: true}));
                 return true;",
                json!([selector, value]),
            )
            .await;
        assert_eq!(ok, json!(true), "no element {selector}");
    }

    /// Chooses a file with `content` in the file input matching `selector`, as a
    /// person picking one would (a `change` event follows).
    pub async fn choose_file(&self, selector: &str, name: &str, content: &str) {
        let ok = self
            .js(
                "const el = document.querySelector(arguments[0]); if (!el) return false;
                 const dt = new DataTransfer();
                 dt.items.add(new File([arguments[2]], arguments[1], {type: 'text/csv'}));
                 el.files = dt.files;
                 el.dispatchEvent(new Event('change', {bubbles: true}));
                 return true;",
                json!([selector, name, content]),
            )
            .await;
        assert_eq!(ok, json!(true), "no element {selector}");
    }

    /// Clicks the element matching `selector`.
    pub async fn click(&self, selector: &str) {
        let ok = self
            .js("const el = document.querySelector(arguments[0]); if (!el) return false; el.click(); return true;", json!([selector]))
            .await;
        assert_eq!(ok, json!(true), "no element {selector}");
    }

    /// Clicks the first element matching `selector` whose text contains `text`.
    pub async fn click_text(&self, selector: &str, text: &str) {
        let ok = self
            .js(
                "const el = [...document.querySelectorAll(arguments[0])].find(e => e.textContent.includes(arguments[1]));
                 if (!el) return false; el.click(); return true;",
                json!([selector, text]),
            )
            .await;
        assert_eq!(ok, json!(true), "no {selector} with text {text}");
    }

    /// Saves a PNG screenshot of the page.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let v = self
            .call(reqwest::Method::GET, "/screenshot", json!(null))
            .await;
        let b64 = v.as_str().unwrap_or_default();
        let bytes = base64_decode(b64);
        std::fs::write(path, bytes).expect("write screenshot");
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.js("return document.body.innerText", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Kills the browser and its driver without letting it shut down cleanly.
    pub fn kill(mut self) {
        let _ = Command::new("pkill")
            .args([
                "-9",
                "-f",
                &format!("user-data-dir={}", self.profile.display()),
            ])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            // Best effort: a blocking client here, since Drop cannot await.
            let _ = std::thread::spawn(move || {
                let _ = reqwest::blocking::Client::new()
                    .delete(url)
                    .timeout(Duration::from_secs(5))
                    .send();
            })
            .join();
        }
        let _ = Command::new("pkill")
            .args([
                "-9",
                "-f",
                &format!("user-data-dir={}", self.profile.display()),
            ])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (what WebDriver returns for screenshots).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
