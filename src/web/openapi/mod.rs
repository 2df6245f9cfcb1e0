//! The OpenAPI 3.1 document of the public HTTP API (docs/rp-api.md, docs/api.md): the ID Contact
//! endpoints, health, and the relying-party session API, generated from the handlers'
//! `#[utoipa::path]` annotations (paths and path parameters read from their Rocket
//! attributes), with the two requests we make to others (the `attr_url` result and the
//! session webhook) as OpenAPI webhooks. Served at `/api/openapi.json`; `auth-eid openapi`
//! prints it.

mod schemas;

pub use schemas::*;

use std::sync::OnceLock;

use rocket::http::ContentType;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, PathItem, PathsBuilder, Ref, RefOr, Required, ResponseBuilder,
    Type,
};
use utoipa::{Modify, OpenApi};

use crate::delivery::webhook::SIGNATURE_HEADER;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "auth-eid",
        description = "Belgian eID card and Smart-ID authentication: the ID Contact \
            authentication-plugin contract and a session API for relying parties.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    paths(
        super::api::start_authentication,
        super::api::session_update,
        super::api::live,
        super::api::ready,
        super::rp_api::create_session,
        super::rp_api::get_session,
        super::rp_api::delete_session,
    ),
    components(schemas(
        Error,
        StartAuthenticationRequest,
        crate::contract::StartAuthResponse,
        Live,
        Ready,
        CreateSessionRequest,
        CreatedSession,
        Session,
        WebhookEvent,
    )),
    modifiers(&Additions),
    tags(
        (name = "ID Contact", description = "The authentication-plugin contract: cores start \
            flows, communication platforms send session updates."),
        (name = "Sessions", description = "The relying-party session API (docs/rp-api.md)."),
        (name = "Health", description = "For load balancers and orchestrators."),
    ),
)]
struct ApiDoc;

/// What the derive cannot say: the bearer scheme, and the requests we send.
struct Additions;

impl Modify for Additions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The relying party's API key; config holds its SHA-256 (api_key_sha256).",
                    ))
                    .build(),
            ),
        );
        close(components);
        doc.webhooks = Some(
            PathsBuilder::new()
                .path("sessionEvent", session_event())
                .path("idContactResult", id_contact_result())
                .build(),
        );
    }
}

/// Every object we answer or accept is closed, so the document says exactly what the wire
/// carries; `start_authentication` ignores unknown fields (as the reference plugins do), so its
/// request stays open.
fn close(components: &mut utoipa::openapi::Components) {
    for (name, schema) in components.schemas.iter_mut() {
        if name == "StartAuthenticationRequest" {
            continue;
        }
        if let RefOr::T(Schema::Object(object)) = schema {
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
}

fn string_header(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// `POST <webhook_url>` when a session ends (docs/rp-api.md, "Webhook").
fn session_event() -> PathItem {
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("WebhookEvent")))
                .build(),
        )
        .build();
    let operation = OperationBuilder::new()
        .operation_id(Some("sessionEvent"))
        .tag("Sessions")
        .summary(Some(
            "A session ended: POSTed to the relying party's webhook_url",
        ))
        .description(Some(
            "At least once, the same body bytes on every attempt, retried with backoff until a \
             2xx. Verify the signature over `t.body` with the webhook secret and refuse a `t` \
             more than 300 s from your clock; drop a sessionId already processed.",
        ))
        .parameter(string_header(
            SIGNATURE_HEADER,
            "t=<unix seconds of this attempt>,v1=<hex HMAC-SHA256 of `t.body`>",
        ))
        .parameter(string_header(
            "Auth-Eid-Event-Id",
            "The session id: the same on every attempt.",
        ))
        .request_body(Some(body))
        .response("2XX", ResponseBuilder::new().description("Received."))
        .build();
    PathItem::new(HttpMethod::Post, operation)
}

/// `POST <attr_url>` with the result token, when the core gave an `attr_url` (docs/api.md).
fn id_contact_result() -> PathItem {
    let token = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "A compact JWE around a signed JWT (docs/api.md, Result token).",
        ));
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            "application/jwt",
            ContentBuilder::new().schema(Some(token)).build(),
        )
        .build();
    let operation = OperationBuilder::new()
        .operation_id(Some("idContactResult"))
        .tag("ID Contact")
        .summary(Some(
            "The result token, POSTed server-side to the start request's attr_url",
        ))
        .request_body(Some(body))
        .response("2XX", ResponseBuilder::new().description("Received."))
        .build();
    PathItem::new(HttpMethod::Post, operation)
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".to_string())
    })
}

#[rocket::get("/api/openapi.json")]
pub fn document() -> (ContentType, &'static str) {
    (ContentType::JSON, json())
}
