//! A model's JSON exactly as the server sent it.
//!
//! Every model keeps its object in `raw`, so fields this SDK does not know yet are never lost.
//! Keeping it as text, not as a parsed [`Value`], is what lets the core depend on plain
//! `serde_json` (no `arbitrary_precision` or `preserve_order` forced on every crate a user
//! builds) while `raw` stays exact: numbers keep their digits (`0.50` stays `0.50`, 30-digit
//! amounts stay whole) and keys keep their order. A [`Value`] is built only when asked for.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// JSON text, checked to be valid JSON: a model's object as received.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses it into a [`Value`]. Numbers become `i64`, `u64` or `f64` unless the build
    /// enables serde_json's `arbitrary_precision`: read money from the typed fields, which are
    /// exact, or from [`RawJson::get`].
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }

    /// From a [`Value`] (for models built by the SDK itself rather than received).
    pub fn from_value(value: &Value) -> RawJson {
        serde_json::value::to_raw_value(value)
            .map(RawJson)
            .unwrap_or_default()
    }

    /// From text the caller has already checked to be JSON (it was just parsed as such).
    pub(crate) fn from_raw(raw: &RawValue) -> RawJson {
        RawJson(raw.to_owned())
    }

    /// The same object without `key`, every other member kept as it was (text and order).
    /// Anything but an object is returned unchanged.
    pub(crate) fn without_key(&self, key: &str) -> RawJson {
        let Ok(Members(members)) = serde_json::from_str::<Members<'_>>(self.get()) else {
            return self.clone();
        };
        let mut text = String::with_capacity(self.get().len());
        text.push('{');
        for (name, value) in members.iter().filter(|(name, _)| name != key) {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(name).unwrap_or_default());
            text.push(':');
            text.push_str(value.get());
        }
        text.push('}');
        RawValue::from_string(text).map_or_else(|_| self.clone(), RawJson)
    }

    /// Whether it is JSON `null` (no object was received).
    pub fn is_null(&self) -> bool {
        self.get() == "null"
    }
}

/// An object's members in order, their values as text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

impl Default for RawJson {
    /// JSON `null`.
    fn default() -> Self {
        RawJson(RawValue::from_string("null".to_owned()).expect("`null` is JSON"))
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson {}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson {
    /// As the JSON it holds, verbatim.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson)
    }
}

impl PartialEq<Value> for RawJson {
    fn eq(&self, other: &Value) -> bool {
        &self.to_value() == other
    }
}
