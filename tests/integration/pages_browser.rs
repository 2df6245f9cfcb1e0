//! Every citizen page, as a citizen sees it, in headless Chromium: two languages on a laptop
//! (1280x800) and two on a phone (390x844). Each page is checked for its visible text, its
//! title, where the focus is, no raw attribute tags, and zero axe-core violations at WCAG 2.2
//! AA. With `AUTH_EID_SCREENSHOTS=dir` (scripts/screenshots) each page is also saved as a PNG.

use fantoccini::{Client, Locator};

use crate::harness::browser::{click, text_of, Browser, Viewport};
use crate::harness::pages::{
    assert_accessible, focused_id, html_lang, screenshot, spawn_demo, title, visible_text,
    wait_text, wait_url, Texts,
};

/// `[pages] display_name` of the demo configuration (config.toml).
const SERVICE: &str = "Demo relying party";

#[tokio::test(flavor = "multi_thread")]
async fn every_page_in_english_on_a_laptop() {
    walk("en", Viewport::Desktop).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_in_dutch_on_a_laptop() {
    walk("nl", Viewport::Desktop).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_in_french_on_a_phone() {
    walk("fr", Viewport::Phone).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_in_german_on_a_phone() {
    walk("de", Viewport::Phone).await;
}

struct Walk<'a> {
    c: &'a Client,
    base: String,
    lang: &'static str,
    viewport: Viewport,
    t: Texts,
}

impl Walk<'_> {
    /// Visible text, title and axe-core for the page now shown; then its screenshot.
    async fn check(&self, page: &str, heading: &str) {
        let what = format!("{page} ({}, {})", self.lang, self.viewport.name());
        assert_eq!(html_lang(self.c).await, self.lang, "{what}: lang");
        // A click just before may still be navigating: wait for this page's heading.
        let h1 = wait_text(self.c, "h1", heading).await;
        assert_eq!(h1, heading, "{what}: heading");
        // Each page its own title, then who is asking (or the site's name): the start page's
        // title is the general one, its heading names the service.
        let title = title(self.c).await;
        let own = if page == "start" {
            self.t.get("title")
        } else {
            heading
        };
        assert!(
            title.starts_with(&format!("{own} · ")),
            "{what}: title {title}"
        );
        let text = visible_text(self.c).await;
        // The demo's tags; their labels differ from them in every language.
        for tag in ["given_name", "birthdate", "surname", "smart-id"] {
            assert!(!text.contains(tag), "{what}: raw tag {tag} in {text}");
        }
        assert_accessible(self.c, &what).await;
        screenshot(self.c, page, self.lang, self.viewport).await;
    }

    /// A new flow from the demo with its pre-checked tags; the start page in `lang`.
    async fn start(&self) {
        self.c.goto(&format!("{}/demo/", self.base)).await.unwrap();
        click(self.c, "form[action$='/demo/start'] button").await;
        wait_url(self.c, "/flow/").await;
        if html_lang(self.c).await != self.lang {
            // The language switcher: a plain link that keeps the flow.
            click(self.c, &format!("nav.langs a[hreflang={}]", self.lang)).await;
        }
    }

    fn tries_left(&self, n: u64) -> String {
        let form = match (self.lang, n) {
            ("fr", 0 | 1) | (_, 1) => "card_wrong_pin_one",
            _ => "card_wrong_pin_other",
        };
        self.t.get(form).replace("{n}", &n.to_string())
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.c.wait().for_element(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }
}

async fn walk(lang: &'static str, viewport: Viewport) {
    let (base, shutdown) = spawn_demo().await;
    let browser = Browser::start_as(viewport).await;
    let w = Walk {
        c: &browser.client,
        base,
        lang,
        viewport,
        t: Texts::of(lang),
    };
    start_and_test_means(&w).await;
    if viewport == Viewport::Desktop {
        card(&w).await;
    } else {
        card_is_not_offered_on_a_phone(&w).await;
    }
    smart_id(&w).await;
    // an unknown link: the error page, its message focused
    w.c.goto(&format!("{}/flow/AAAAAAAAAAAAAAAAAAAAAA", w.base))
        .await
        .unwrap();
    assert_eq!(focused_id(w.c).await, "page-error");
    w.check("error", w.t.get("error_heading")).await;
    browser.close().await;
    shutdown.notify();
}

async fn start_and_test_means(w: &Walk<'_>) {
    let c = w.c;
    w.c.goto(&format!("{}/demo/", w.base)).await.unwrap();
    assert_accessible(c, "demo index").await;
    screenshot(c, "demo-index", w.lang, w.viewport).await;
    w.start().await;
    let heading = w.t.get("title_service").replace("{service}", SERVICE);
    w.check("start", &heading).await;
    // labels, never tags: the demo asks name, given_name, surname, birthdate (card fields)
    let mut shown: Vec<String> = Vec::new();
    for li in c.find_all(Locator::Css("ul.attributes li")).await.unwrap() {
        shown.push(li.text().await.unwrap());
    }
    shown.sort();
    let mut wanted: Vec<String> = ["full_name", "given_names", "surname", "date_of_birth"]
        .iter()
        .map(|f| w.t.get(&format!("attr.{f}")).to_string())
        .collect();
    wanted.sort();
    assert_eq!(shown, wanted);
    let text = visible_text(c).await;
    for key in ["means_smart-id", "means_smart-id_need", "means_test_need"] {
        assert!(text.contains(w.t.get(key)), "{key} in {text}");
    }

    // the test means lists what is shared, under the same labels
    click(c, "button[name=means][value=test]").await;
    w.check("test", w.t.get("test_heading")).await;
    let shared = text_of(c, "dl.shared").await;
    assert!(shared.contains(w.t.get("attr.date_of_birth")) && shared.contains("An Peeters"));
    // "Choose another way" goes back to the choice, the flow still open
    click(c, "form[action$='/choose'] button").await;
    // the click starts a navigation: wait for the next page rather than read the old one
    assert_eq!(wait_text(c, "h1", &heading).await, heading);
}

async fn card(w: &Walk<'_>) {
    let c = w.c;
    click(c, "button[name=means][value=card]").await;
    c.wait()
        .for_element(Locator::Css("#card-form:not([hidden])"))
        .await
        .unwrap();
    assert_eq!(focused_id(c).await, "pin");
    w.check("card", w.t.get("card_heading")).await;
    // two wrong PINs: "2 tries left", then "1 try left", the message focused each time
    for left in [2, 1] {
        w.type_into("#pin", "0000").await;
        click(c, "#card-submit").await;
        wait_text(c, "#card-status", &w.tries_left(left)).await;
        assert_eq!(focused_id(c).await, "card-status");
    }
    w.check("card-wrong-pin", w.t.get("card_heading")).await;
    if w.lang == "en" {
        // the third blocks the PIN: the form is gone, the message says what to do
        w.type_into("#pin", "0000").await;
        click(c, "#card-submit").await;
        wait_text(c, "#card-status", w.t.get("card_pin_blocked")).await;
        assert!(!c
            .find(Locator::Css("#card-form"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap());
        w.check("card-blocked", w.t.get("card_heading")).await;
        // the demo page explains it and resets the card
        c.goto(&format!("{}/demo/", w.base)).await.unwrap();
        assert!(text_of(c, "#card-tries").await.contains("blocked"));
        click(c, "#card-reset").await;
        wait_text(c, "#card-tries", "3 of 3").await;
        w.start().await;
        click(c, "button[name=means][value=card]").await;
        c.wait()
            .for_element(Locator::Css("#card-form:not([hidden])"))
            .await
            .unwrap();
    }
    w.type_into("#pin", "1234").await;
    click(c, "#card-submit").await;
    wait_url(c, "/demo/result").await;
    assert_eq!(text_of(c, "#result-status").await, "succes");
    if w.lang == "en" {
        assert_accessible(c, "demo result").await;
        screenshot(c, "demo-result", w.lang, w.viewport).await;
    }
    w.start().await;
}

async fn card_is_not_offered_on_a_phone(w: &Walk<'_>) {
    let button =
        w.c.find(Locator::Css("button[name=means][value=card]"))
            .await
            .unwrap();
    assert!(!button.is_enabled().await.unwrap());
    assert_eq!(
        text_of(w.c, "#need-card").await,
        w.t.get("means_card_phone")
    );
}

async fn smart_id(w: &Walk<'_>) {
    let c = w.c;
    click(c, "button[name=means][value=smart-id]").await;
    w.check("smart-id", w.t.get("sid_heading")).await;
    let first = c.find(Locator::Css("#country option")).await.unwrap();
    assert_eq!(first.attr("value").await.unwrap().as_deref(), Some("BE"));
    // a bad code: the error is the field's, and the field has the focus
    w.type_into("#code", "123").await;
    click(c, ".sid-form button[type=submit]").await;
    let code = c
        .wait()
        .for_element(Locator::Css("#code[aria-invalid=true]"))
        .await
        .unwrap();
    let described = code
        .attr("aria-describedby")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(described.contains("code-error"), "{described}");
    assert_eq!(text_of(c, "#code-error").await, w.t.get("sid_bad_code"));
    assert_eq!(focused_id(c).await, "code");
    w.check("smart-id-error", w.t.get("sid_heading")).await;

    // an account that never answers: the waiting page, then "timed out"
    choose_country(c, "EE").await;
    w.type_into("#code", "30403039983").await;
    click(c, ".sid-form button[type=submit]").await;
    wait_url(c, "/smart-id/wait").await;
    let vc = text_of(c, "dd.vc").await;
    assert!(
        vc.len() == 4 && vc.bytes().all(|b| b.is_ascii_digit()),
        "{vc}"
    );
    // no button to press while the page's script polls; a progress bar instead
    let button = c.find(Locator::Css("#sid-continue")).await.unwrap();
    assert!(!button.is_displayed().await.unwrap());
    assert!(c.find(Locator::Css("progress#sid-progress")).await.is_ok());
    w.check("smart-id-wait", w.t.get("sid_wait_heading")).await;
    wait_text(c, "#sid-error", w.t.get("smart_id.timeout")).await;
    assert_eq!(focused_id(c).await, "sid-error");
    w.check("smart-id-timeout", w.t.get("sid_wait_heading"))
        .await;

    // the wrong code chosen on the phone has its own message
    click(c, "form[action$='/retry'] button").await;
    choose_country(c, "EE").await;
    w.type_into("#code", "30403039972").await;
    click(c, ".sid-form button[type=submit]").await;
    wait_text(c, "#sid-error", w.t.get("smart_id.wrong_vc")).await;
    w.check("smart-id-wrong-code", w.t.get("sid_wait_heading"))
        .await;

    // "Choose another way" from a failed Smart-ID attempt: the flow is still open
    click(c, "form[action$='/choose'] button").await;
    let heading = w.t.get("title_service").replace("{service}", SERVICE);
    // the click starts a navigation: wait for the next page rather than read the old one
    assert_eq!(wait_text(c, "h1", &heading).await, heading);
    // and Smart-ID succeeds with the Belgian demo account
    click(c, "button[name=means][value=smart-id]").await;
    w.type_into("#code", "05040400032").await;
    click(c, ".sid-form button[type=submit]").await;
    wait_url(c, "/demo/result").await;
    assert_eq!(text_of(c, "#result-status").await, "succes");
}

async fn choose_country(c: &Client, code: &str) {
    click(c, &format!("#country option[value={code}]")).await;
}
