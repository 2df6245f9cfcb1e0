mod store_conformance;
mod support;
