//! The card when its citizen CA is revoked: a real `openssl ocsp` responder for the root says
//! so, and a card whose own certificate is good is refused; the same card passes when the root
//! says the CA is good.

use openssl::x509::X509;

use super::{card_pki, card_toml_with, issued, sign, CardStep};
use crate::harness::{Options, TestApp};
use crate::pki::responder::{index_line, Responder};
use auth_eid::simulate::card::Profile;

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_citizen_ca_refuses_a_card_with_a_good_certificate() {
    let dir = card_pki();
    let d = dir.display();
    let work = tempfile::tempdir().unwrap();
    let (root, ca) = (issued(dir, "root"), issued(dir, "citizen-ca"));
    let auth = X509::from_pem(&std::fs::read(dir.join("card-rsa-auth.pem")).unwrap()).unwrap();
    let leaves = Responder::start(work.path(), &index_line(&auth, false), &ca, &ca, Some(1));
    for (ca_revoked, expected) in [(true, 422), (false, 200)] {
        let cas = index_line(&ca.cert, ca_revoked);
        let roots = Responder::start(work.path(), &cas, &root, &root, Some(1));
        // revocation_scope is left at its default: the whole path.
        let revocation = format!(
            "revocation = \"fail_closed\"\nocsp = [\
             {{ issuer = \"{d}/citizen-ca.pem\", url = \"{}\" }}, \
             {{ issuer = \"{d}/root.pem\", url = \"{}\" }}]",
            leaves.url(),
            roots.url()
        );
        let app = TestApp::spawn(Options {
            extra_toml: card_toml_with(dir, "http://127.0.0.1:24801", &revocation),
            ..Options::default()
        })
        .await;
        let step = CardStep::begin(&app, &["nrn"]).await;
        let token = sign(dir, Profile::Rsa, &app.base, &step.challenge().await);
        let (status, body) = step.submit(&token).await;
        assert_eq!(status, expected, "citizen CA revoked: {ca_revoked}: {body}");
        assert_eq!(roots.requests(), 1, "the root's responder was asked");
    }
}
