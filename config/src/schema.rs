//! The schema's field names, read from the serde derives themselves, so that the
//! reference (`docs/configuration.md`) can be checked against them.

use serde::de::{self, Deserialize, Deserializer, Visitor};

#[derive(Debug)]
struct Found(&'static str, &'static [&'static str]);

#[derive(Debug)]
struct Stop(Option<Found>);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("introspection")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop(None)
    }
}

/// A deserializer that records the struct name and fields serde asks for, then stops.
struct Introspect;

impl<'de> Deserializer<'de> for Introspect {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        Err(Stop(Some(Found(name, fields))))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

/// The TOML keys of a schema struct, as serde reads them.
pub(crate) fn fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(Introspect) {
        Err(Stop(Some(Found(_, fields)))) => fields,
        _ => panic!("{} is not a struct", std::any::type_name::<T>()),
    }
}
