//! The AsyncAPI documentation as an integrator sees it: rendered by `make asyncapi`'s script,
//! served by the gateway at `/docs/`, opened in headless Chromium.

use std::path::Path;

use clio_runtime::catalogue::Catalogue;
use clio_runtime::codec::Codec;
use clio_testkit::harness::TestEnv;
use tokio_util::sync::CancellationToken;

/// Debian's Chromium.
fn chromium() -> String {
    crate::installed("CLIO_CHROMIUM", "infra/chromium.sh")
}

fn render(out: &Path) {
    let output = std::process::Command::new("node")
        .current_dir(crate::repo_root())
        .arg("asyncapi/render.mjs")
        .arg("asyncapi/asyncapi.yaml")
        .arg(out)
        .env("CLIO_ASYNCAPI_TOOLS", crate::asyncapi::tools())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The page's DOM after its scripts ran.
async fn rendered_dom(url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("clio-chromium-{}", std::process::id()));
    let output = tokio::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=20000", "--dump-dom", url])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), output)
        .await
        .expect("chromium finishes")
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(profile);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_documentation_that_shows_every_topic_and_every_record_in_a_browser() {
    let env = TestEnv::start().await.expect("env");
    let html = std::env::temp_dir().join(env.unique("asyncapi-html"));
    render(&html);
    let catalogue = Catalogue::load(&crate::repo_root().join("schemas")).expect("catalogue");
    let gateway = clio_gateway::Gateway::new(
        env.pool.clone(),
        env.kafka.clone(),
        catalogue.clone(),
        Codec::new(&env.registry_url),
    )
    .expect("gateway")
    .with_docs(&html);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let token = CancellationToken::new();
    tokio::spawn(clio_gateway::serve(listener, gateway, token.clone()));

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let bare = http.get(format!("{base}/docs")).send().await.expect("answers");
    assert_eq!(bare.status(), 308, "/docs leads to /docs/");
    assert_eq!(bare.headers()["location"], "/docs/");
    let yaml = http.get(format!("{base}/docs/asyncapi.yaml")).send().await.expect("answers");
    assert_eq!(yaml.status(), 200);
    assert_eq!(
        yaml.text().await.expect("body"),
        std::fs::read_to_string(crate::repo_root().join("asyncapi/asyncapi.yaml")).expect("yaml")
    );
    for outside in ["/docs/.profile", "/docs/..%2FCargo.toml", "/docs/nothing.js"] {
        assert_eq!(http.get(format!("{base}{outside}")).send().await.expect("answers").status(), 404, "{outside}");
    }

    let dom = rendered_dom(&format!("{base}/docs/")).await;
    let mut missing = Vec::new();
    for topic in &catalogue.topics {
        if !dom.contains(&format!(">{}<", topic.name)) {
            missing.push(format!("topic {}", topic.name));
        }
        for record in &topic.values {
            if !dom.contains(&format!("id=\"message-{record}\"")) {
                missing.push(format!("record {record}"));
            }
        }
    }
    assert!(missing.is_empty(), "not on the rendered page: {missing:?} (page of {} bytes)", dom.len());
    token.cancel();
    let _ = std::fs::remove_dir_all(html);
}
