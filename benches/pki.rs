//! Cost of `TrustStore::validate` on a 3-certificate chain (OCSP answer cached) against the raw
//! cost of the signature verifications it cannot avoid, measured in the same run.
//! Target: validation ≤ 3× its raw signature verifications.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use auth_eid::pki::{DecodedCert, RevocationSource, TrustStore, Verdict};
use criterion::Criterion;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::sign::{Signer, Verifier};

#[allow(dead_code)]
#[path = "../tests/integration/pki/gen.rs"]
mod gen;
#[allow(dead_code)]
#[path = "../tests/integration/pki/responder.rs"]
mod responder;

use gen::{issue, Issued, KeyKind, Spec};

struct Case {
    name: &'static str,
    root: Issued,
    int: Issued,
    leaf: Issued,
    ocsp_signer: Issued,
}

fn case(name: &'static str, key: KeyKind) -> Case {
    let root = issue(&Spec::ca("Bench Root", key, None));
    let int = issue(&Spec::ca("Bench Issuing CA", key, Some(&root)));
    let leaf = issue(&Spec {
        key,
        ..Spec::leaf("Bench Leaf", &int)
    });
    let ocsp_signer = issue(&Spec {
        key,
        eku: Some("OCSPSigning"),
        ..Spec::leaf("Bench OCSP", &int)
    });
    Case {
        name,
        root,
        int,
        leaf,
        ocsp_signer,
    }
}

/// A store whose OCSP cache already holds the leaf's `good` answer (responder stopped after).
fn warmed_store(c: &Case, rt: &tokio::runtime::Runtime) -> TrustStore {
    let dir = tempfile::tempdir().unwrap();
    for (n, i) in [("root", &c.root), ("int", &c.int)] {
        gen::write_issued(dir.path(), n, i);
    }
    let mut r = responder::Responder::start(
        dir.path(),
        &responder::index_line(&c.leaf.cert, false),
        &c.int,
        &c.ocsp_signer,
        Some(1),
    );
    let p = |f: &str| dir.path().join(f).display().to_string();
    let store = responder::store(&format!(
        "[trust.b]\nanchors = [\"{}\"]\nintermediates = [\"{}\"]\nrevocation_scope = \"leaf\"\n\
         ocsp = [{{ issuer = \"{}\", url = \"{}\" }}]\n",
        p("root.pem"),
        p("int.pem"),
        p("int.pem"),
        r.url()
    ));
    let v = rt
        .block_on(store.validate("b", &gen::der(&c.leaf), &[], SystemTime::now()))
        .unwrap();
    assert_eq!(v.verdict, Verdict::Valid, "{:#?}", v.report);
    r.stop();
    let v = rt
        .block_on(store.validate("b", &gen::der(&c.leaf), &[], SystemTime::now()))
        .unwrap();
    let rev = v
        .report
        .checks
        .iter()
        .find(|c| c.name == "revocation")
        .unwrap();
    assert_eq!(rev.source, Some(RevocationSource::Cache));
    store
}

/// Mean time per call over a fixed wall-clock budget.
fn mean(budget: Duration, mut f: impl FnMut()) -> Duration {
    for _ in 0..20 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    start.elapsed() / n
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        case("rsa2048", KeyKind::Rsa(2048)),
        case("ec_p384", KeyKind::Ec(Nid::SECP384R1)),
    ];
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    let mut summary = Vec::new();
    for case in &cases {
        let store = warmed_store(case, &rt);
        let leaf_der = gen::der(&case.leaf);
        // The means decode the leaf once (to check the signature with its key) and hand it over.
        let leaf = DecodedCert::from_der(&leaf_der).unwrap();
        let int_key = case.int.cert.public_key().unwrap();
        let root_key = case.root.cert.public_key().unwrap();
        let validate = || {
            let v = rt
                .block_on(store.validate_cert("b", &leaf, &[], SystemTime::now()))
                .unwrap();
            assert_eq!(v.verdict, Verdict::Valid);
            black_box(v);
        };
        // The two signatures a 3-certificate path needs checked (the anchor's own is not).
        let raw = || {
            assert!(case.leaf.cert.verify(&int_key).unwrap());
            assert!(case.int.cert.verify(&root_key).unwrap());
        };
        // One signature by the leaf key over a 32-byte challenge, as the means verify it.
        let md = match case.name {
            "ec_p384" => MessageDigest::sha384(),
            _ => MessageDigest::sha256(),
        };
        let challenge = [7u8; 32];
        let sig = {
            let mut s = Signer::new(md, &case.leaf.key).unwrap();
            s.update(&challenge).unwrap();
            s.sign_to_vec().unwrap()
        };
        let leaf_key = case.leaf.cert.public_key().unwrap();
        let one_sig = || {
            let mut v = Verifier::new(md, &leaf_key).unwrap();
            v.update(&challenge).unwrap();
            assert!(v.verify(&sig).unwrap());
        };
        c.bench_function(
            &format!("validate_3_chain_{}_ocsp_cached", case.name),
            |b| b.iter(validate),
        );
        c.bench_function(&format!("raw_2_chain_signatures_{}", case.name), |b| {
            b.iter(raw)
        });
        c.bench_function(&format!("one_signature_verification_{}", case.name), |b| {
            b.iter(one_sig)
        });
        let budget = Duration::from_secs(2);
        let (tv, tr, ts) = (
            mean(budget, validate),
            mean(budget, raw),
            mean(budget, one_sig),
        );
        // What the means' one decoding of the leaf costs (OpenSSL 3.0), outside the validation
        // above; supplied CA certificates are reused decoded (src/pki/certcache.rs).
        let td = mean(budget, || {
            black_box(openssl::x509::X509::from_der(&leaf_der).unwrap());
        });
        summary.push(format!(
            "{:8} validate {:>9.1?}  raw chain signatures {:>9.1?}  ratio {:.2}x\n         \
             one signature verification {:>9.1?}; the means' decoding of the leaf \
             {:>9.1?}",
            case.name,
            tv,
            tr,
            tv.as_secs_f64() / tr.as_secs_f64(),
            ts,
            td
        ));
    }
    println!("\n== pki overhead (target ratio <= 3x) ==");
    for s in summary {
        println!("{s}");
    }
    c.final_summary();
}
