//! The wire format of the server functions: JSON, read and written by `serde_json` on the server
//! and by the browser's own `JSON.parse`/`JSON.stringify` (through `serde-wasm-bindgen`) in the
//! wasm, so that the browser bundle carries no JSON library.

use leptos::server_fn::{codec::Post, Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON without a JSON library in the browser.
pub struct Json;

/// Arguments and results as JSON in the body of a `POST`.
pub type PostJson = Post<Json>;

impl ContentType for Json {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for Json {
    const FORMAT_TYPE: Format = Format::Text;
}

/// Why a value could not be encoded or decoded.
#[derive(Debug)]
pub struct CodecError(String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<T: Serialize> Encodes<T> for Json {
    type Error = CodecError;

    fn encode(value: &T) -> Result<Bytes, CodecError> {
        to_vec(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for Json {
    type Error = CodecError;

    fn decode(bytes: Bytes) -> Result<T, CodecError> {
        from_slice(&bytes)
    }
}

#[cfg(not(feature = "hydrate"))]
fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(value).map_err(|e| CodecError(e.to_string()))
}

#[cfg(not(feature = "hydrate"))]
fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    serde_json::from_slice(bytes).map_err(|e| CodecError(e.to_string()))
}

#[cfg(feature = "hydrate")]
fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let value = value
        .serialize(&serializer)
        .map_err(|e| CodecError(e.to_string()))?;
    js_sys::JSON::stringify(&value)
        .map(String::from)
        .map(String::into_bytes)
        .map_err(|_| CodecError("the value cannot be written as JSON".into()))
}

#[cfg(feature = "hydrate")]
fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CodecError("not UTF-8".into()))?;
    let value = js_sys::JSON::parse(text).map_err(|_| CodecError("not JSON".into()))?;
    serde_wasm_bindgen::from_value(value).map_err(|e| CodecError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn errors_round_trip() {
        let bytes = <Json as Encodes<AppError>>::encode(&AppError::NotSignedIn).unwrap();
        let back: AppError = <Json as Decodes<AppError>>::decode(bytes).unwrap();
        assert_eq!(back, AppError::NotSignedIn);
    }
}
