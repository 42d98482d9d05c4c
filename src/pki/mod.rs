//! PKI: trust anchors bound to regions, certificate path validation, and the demo PKI.

pub mod demo;
