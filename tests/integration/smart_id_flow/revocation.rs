//! Smart-ID when the issuing CA is revoked: a real `openssl ocsp` responder for the root says
//! so and the result is `failed`; when it says good, `succes`. The leaf (new at every session
//! in the simulator) is checked against the issuing CA's CRL, which lists nothing.

use super::{choose, finish, settle, smart_id_toml, start, OK, TAGS};
use crate::harness::app::{location, result_of};
use crate::harness::{Options, TestApp};
use crate::pki::gen::Issued;
use crate::pki::responder::{index_line, make_crl, write_crl, Responder};
use crate::smart_id::simulator;

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_issuing_ca_fails_the_smart_id_result() {
    let sim = simulator(50).await;
    let pki = sim.pki();
    let as_issued = |ca: &auth_eid::simulate::smart_id::pki::Ca| Issued {
        cert: ca.cert.clone(),
        key: ca.key.clone(),
    };
    let (root, issuing) = (as_issued(&pki.root), as_issued(&pki.issuing));
    let work = tempfile::tempdir().unwrap();
    let crl = write_crl(work.path(), "issuing.crl", &make_crl(&issuing, &[], 7));
    for (ca_revoked, expected) in [(true, "failed"), (false, "succes")] {
        let cas = index_line(&issuing.cert, ca_revoked);
        let roots = Responder::start(work.path(), &cas, &root, &root, Some(1));
        let revocation = format!(
            "revocation = \"fail_closed\"\ncrl = [\"{}\"]\n\
             ocsp = [{{ issuer = \"{}\", url = \"{}\" }}]",
            crl.display(),
            pki.file("root.pem").display(),
            roots.url()
        );
        // The simulator's profile with revocation on (it has `revocation = "off"` once).
        let extra_toml = smart_id_toml(&sim, 10).replace("revocation = \"off\"", &revocation);
        let app = TestApp::spawn(Options {
            extra_toml,
            ..Options::default()
        })
        .await;
        let client_url = app.start_ok(TAGS, None).await;
        let b = TestApp::browser();
        let csrf = choose(&b, &client_url).await;
        start(&b, &client_url, &csrf, "EE", OK).await;
        let status = settle(&b, &client_url).await;
        let res = finish(&b, &client_url, &csrf).await;
        let opened = app.open_token(&result_of(&location(&res)).unwrap());
        assert_eq!(opened.claims["status"], expected, "{status}");
        assert_eq!(roots.requests(), 1, "the root's responder was asked");
    }
    sim.shutdown().await;
}
