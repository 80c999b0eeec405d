//! How values cross from the server to the browser, without a JSON library in the wasm:
//!
//! - [`PostJson`], the server functions' encoding: JSON in a `POST` body, written and read by
//!   `serde_json` on the server; in the browser the (empty) arguments are written through
//!   `JSON.stringify` and answers are read with `JSON.parse` and [`FromJson`].
//! - [`Hydrated`], the resources' encoding: the server writes each resolved resource into the
//!   page with `serde_json`; the browser reads it back with [`FromJson`] while hydrating.

use crate::json::FromJson;
use leptos::server::codee;
use leptos::server_fn::{codec::Post, Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::Serialize;

/// JSON without a JSON library in the browser (the server uses `serde_json`).
pub struct Json;

/// Arguments and answers as JSON in the body of a `POST`.
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
        #[cfg(not(feature = "hydrate"))]
        return serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| CodecError(e.to_string()));
        #[cfg(feature = "hydrate")]
        {
            let serializer = serde_wasm_bindgen::Serializer::json_compatible();
            let value = value
                .serialize(&serializer)
                .map_err(|_| CodecError("the value cannot be written".into()))?;
            js_sys::JSON::stringify(&value)
                .map(|text| Bytes::from(String::from(text)))
                .map_err(|_| CodecError("the value cannot be written as JSON".into()))
        }
    }
}

#[cfg(not(feature = "hydrate"))]
impl<T: serde::de::DeserializeOwned> Decodes<T> for Json {
    type Error = CodecError;

    fn decode(bytes: Bytes) -> Result<T, CodecError> {
        serde_json::from_slice(&bytes).map_err(|e| CodecError(e.to_string()))
    }
}

#[cfg(feature = "hydrate")]
impl<T: FromJson> Decodes<T> for Json {
    type Error = CodecError;

    fn decode(bytes: Bytes) -> Result<T, CodecError> {
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(T::from_json_text)
            .ok_or_else(|| CodecError("the server's answer is not what was expected".into()))
    }
}

/// The encoding of resources handed from the server's render to the browser's hydration.
pub struct Hydrated;

impl<T: Serialize> codee::Encoder<T> for Hydrated {
    type Error = String;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, String> {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }
}

impl<T: FromJson> codee::Decoder<T> for Hydrated {
    type Error = ();
    type Encoded = str;

    fn decode(text: &str) -> Result<T, ()> {
        T::from_json_text(text).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthError as AppError, AuthSnapshot as AuthState};
    use codee::{Decoder, Encoder};

    #[test]
    fn errors_cross_as_json() {
        let bytes = <Json as Encodes<AppError>>::encode(&AppError::NotSignedIn).unwrap();
        let back: AppError = <Json as Decodes<AppError>>::decode(bytes).unwrap();
        assert_eq!(back, AppError::NotSignedIn);
    }

    #[test]
    fn a_hydrated_resource_reads_back_what_the_server_wrote() {
        let state: Result<AuthState, AppError> = Err(AppError::StoreUnavailable);
        let written = <Hydrated as Encoder<_>>::encode(&state).unwrap();
        let read: Result<Result<AuthState, AppError>, ()> = Hydrated::decode(&written);
        assert_eq!(read, Ok(state));
    }
}
