//! The one JSON reader the server and the browser share.
//!
//! The server parses with `serde_json`; the browser with its own `JSON.parse`, read through the
//! same [`JsonView`] trait, so the wasm carries no JSON library and no serde deserializer. The
//! values that cross from the server to the browser (server-function answers, hydrated
//! resources, messages between tabs) are read with [`FromJson`], whose implementations the unit
//! tests run against `serde_json`'s output — the very text the browser receives.

/// Read access to a parsed JSON value: `serde_json::Value` on the server, a JS value in the
/// browser. One reader serves both, so the shapes the tests feed it are the shapes the browser
/// reads.
pub trait JsonView: Sized {
    /// The field `key` of an object.
    fn field(&self, key: &str) -> Option<Self>;
    /// The string it is.
    fn text(&self) -> Option<String>;
    /// The boolean it is.
    fn flag(&self) -> Option<bool>;
    /// The number it is.
    fn number(&self) -> Option<f64>;
    /// The items of the array it is.
    fn items(&self) -> Option<Vec<Self>>;
    /// Whether it is `null`.
    fn is_null(&self) -> bool;

    /// An optional string field: absent or `null` is `None`.
    fn optional_text(&self, key: &str) -> Option<String> {
        self.field(key).and_then(|v| v.text())
    }
}

impl JsonView for serde_json::Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.get(key).cloned()
    }
    fn text(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn flag(&self) -> Option<bool> {
        self.as_bool()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn items(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
    fn is_null(&self) -> bool {
        serde_json::Value::is_null(self)
    }
}

#[cfg(feature = "hydrate")]
impl JsonView for wasm_bindgen::JsValue {
    fn field(&self, key: &str) -> Option<Self> {
        if !self.is_object() || js_sys::Array::is_array(self) {
            return None;
        }
        js_sys::Reflect::get(self, &wasm_bindgen::JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined())
    }
    fn text(&self) -> Option<String> {
        self.as_string()
    }
    fn flag(&self) -> Option<bool> {
        self.as_bool()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn items(&self) -> Option<Vec<Self>> {
        js_sys::Array::is_array(self).then(|| js_sys::Array::from(self).iter().collect())
    }
    fn is_null(&self) -> bool {
        wasm_bindgen::JsValue::is_null(self)
    }
}

/// A parsed JSON value of the platform the code runs on.
#[cfg(feature = "hydrate")]
pub type Value = wasm_bindgen::JsValue;
/// A parsed JSON value of the platform the code runs on.
#[cfg(not(feature = "hydrate"))]
pub type Value = serde_json::Value;

/// Parses JSON text with the platform's parser.
pub fn parse(text: &str) -> Option<Value> {
    #[cfg(feature = "hydrate")]
    return js_sys::JSON::parse(text).ok();
    #[cfg(not(feature = "hydrate"))]
    return serde_json::from_str(text).ok();
}

/// A value read back from the JSON its `Serialize` implementation writes (serde's default
/// representation: structs as objects, `Option::None` as `null`, enums externally tagged).
pub trait FromJson: Sized {
    /// Reads the value from parsed JSON; `None` when it is not of the expected shape.
    fn from_json<J: JsonView>(json: &J) -> Option<Self>;

    /// Parses and reads `text`.
    fn from_json_text(text: &str) -> Option<Self> {
        Self::from_json(&parse(text)?)
    }
}

impl<T: FromJson, E: FromJson> FromJson for Result<T, E> {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        match (json.field("Ok"), json.field("Err")) {
            (Some(ok), None) => T::from_json(&ok).map(Ok),
            (None, Some(err)) => E::from_json(&err).map(Err),
            _ => None,
        }
    }
}

/// The variant name and content of an externally tagged enum value: `"Unit"` or
/// `{"Variant": content}`.
pub fn variant<J: JsonView>(json: &J, names: &[&'static str]) -> Option<(&'static str, Option<J>)> {
    if let Some(name) = json.text() {
        return names.iter().find(|n| **n == name).map(|n| (*n, None));
    }
    names
        .iter()
        .find_map(|name| json.field(name).map(|content| (*name, Some(content))))
}

/// Builds plain JS objects (messages between tabs) without a serializer.
#[cfg(feature = "hydrate")]
pub mod write {
    use wasm_bindgen::JsValue;

    /// A JS object under construction.
    pub struct Object(js_sys::Object);

    impl Object {
        /// An empty object.
        pub fn new() -> Self {
            Object(js_sys::Object::new())
        }

        /// Sets `key` to `value`.
        pub fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
            let _ = js_sys::Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
            self
        }

        /// Sets `key` to the string `value`, or `null`.
        pub fn set_text(self, key: &str, value: Option<&str>) -> Self {
            match value {
                Some(text) => self.set(key, JsValue::from_str(text)),
                None => self.set(key, JsValue::NULL),
            }
        }
    }

    impl Default for Object {
        fn default() -> Self {
            Self::new()
        }
    }

    impl From<Object> for JsValue {
        fn from(object: Object) -> JsValue {
            object.0.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_back_as_serde_writes_them() {
        #[derive(Debug, PartialEq, serde::Serialize)]
        struct N(String);
        impl FromJson for N {
            fn from_json<J: JsonView>(json: &J) -> Option<Self> {
                json.text().map(N)
            }
        }
        for value in [Ok(N("a".into())), Err(N("b".into()))] {
            let text = serde_json::to_string(&value).unwrap();
            assert_eq!(Result::<N, N>::from_json_text(&text), Some(value));
        }
        assert_eq!(
            Result::<N, N>::from_json_text(r#"{"Ok":"a","Err":"b"}"#),
            None
        );
        assert_eq!(Result::<N, N>::from_json_text("[]"), None);
    }
}
