//! The GraphQL face of destination configs: the one-of input `DestinationConfigInput`
//! (one field per destination type) and the output `DestinationConfig`. Both are
//! generated, with `into_parts` and `from_stored`, from the one list of types in
//! `destinations` (the `destinations!` declaration); nothing to add here for a new type.
pub use crate::destinations::{DestinationConfig, DestinationConfigInput};
