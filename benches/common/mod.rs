//! What the benches share: a demo configuration (RSA-2048 demo keys, the test means) and one
//! whole flow through the domain layer.

use auth_eid::config::Config;
use auth_eid::flow::{BrowserProof, FlowService, MeansOutcome};
use auth_eid::ids::FlowId;
use auth_eid::means::MeansId;
use figment::providers::{Format, Toml};
use figment::Figment;

pub const BODY: &[u8] =
    br#"{"attributes":["email","name"],"continuation":"https://comm.example/ui?session=5e09"}"#;

/// The bench configuration listening on `port`, with `extra` TOML appended (a `[store]`).
pub fn config(port: u16, extra: &str) -> Config {
    let text = format!(
        r#"
mode = "demo"
public_url = "https://auth.example"
internal_url = "https://auth.internal"
[server]
port = {port}
[keys.signing]
type = "RSA"
key = """{}"""
[keys.encryption]
type = "RSA"
key = """{}"""
[allow]
continuation = ["https://comm.example/ui"]
[flow]
max_live_flows = 100000000
[means.test]
enabled = true
[means.test.attributes]
email = "an@example.org"
name = "An Peeters"
{extra}
"#,
        auth_eid::demo_keys::SIGNING_PRIVATE,
        auth_eid::demo_keys::RECEIVER_PUBLIC
    );
    Config::from_figment(
        Figment::from(Toml::string(&text)),
        std::path::Path::new("."),
    )
    .unwrap()
}

/// One whole flow: start, bind the browser, choose the test means, complete (claims, RS256
/// signature, RSA-OAEP encryption, compare-and-set). Gives the redirect location.
pub async fn whole_flow(flows: &FlowService) -> String {
    let url = flows.start(BODY).await.unwrap();
    let id = FlowId::parse(url.rsplit('/').next().unwrap()).unwrap();
    let opened = flows.open(&id, None).await.unwrap();
    let cookie = opened.new_cookie.unwrap();
    let proof = BrowserProof {
        cookie: Some(&cookie),
        csrf: Some(&opened.view.csrf),
    };
    flows
        .choose_means(&id, &proof, MeansId::Test)
        .await
        .unwrap();
    let identity = flows.catalog().test_identity().clone();
    let outcome = MeansOutcome::Verified {
        means: MeansId::Test,
        identity,
        report: None,
    };
    flows.complete(&id, &proof, outcome).await.unwrap()
}
