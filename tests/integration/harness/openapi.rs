//! Checks a JSON value against a schema of our OpenAPI document: the JSON Schema keywords the
//! document uses (`$ref`, `type` with `null`, `enum`, `oneOf`, `required`, `properties`,
//! `additionalProperties`, `items`, `minItems`, `maxItems`). Tests call it on real answers and
//! webhook bodies, so a body and its documented schema cannot drift apart.

use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(auth_eid::web::openapi::json()).expect("the document is JSON")
}

/// Panics with every mismatch when `value` does not conform to `#/components/schemas/<name>`.
pub fn assert_conforms(value: &Value, name: &str) {
    let doc = document();
    let schema = json_ref(&doc, &format!("#/components/schemas/{name}"));
    let mut errors = Vec::new();
    check(&doc, schema, value, name, &mut errors);
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{value:#}");
}

fn json_ref<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("a local $ref");
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} is not in the document"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return check(doc, json_ref(doc, r), value, at, errors);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                check(doc, o, value, at, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{at}: matches {matching} of oneOf"));
        }
        return;
    }
    if let Some(kind) = schema.get("type") {
        let allowed: Vec<&str> = match kind {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = type_name(value);
        let fits =
            allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !fits {
            errors.push(format!("{at}: {actual}, documented {allowed:?}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    match value {
        Value::Object(obj) => {
            let empty = serde_json::Map::new();
            let properties = schema
                .get("properties")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !obj.contains_key(required) {
                    errors.push(format!("{at}: `{required}` is missing"));
                }
            }
            for (key, v) in obj {
                let here = format!("{at}.{key}");
                match (properties.get(key), schema.get("additionalProperties")) {
                    (Some(s), _) => check(doc, s, v, &here, errors),
                    (None, Some(Value::Bool(false))) => {
                        errors.push(format!("{here}: not in the document"))
                    }
                    (None, Some(extra @ Value::Object(_))) => check(doc, extra, v, &here, errors),
                    (None, _) => {}
                }
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if count < min {
                    errors.push(format!("{at}: {count} items, at least {min} documented"));
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                if count > max {
                    errors.push(format!("{at}: {count} items, at most {max} documented"));
                }
            }
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(doc, item, v, &format!("{at}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}
