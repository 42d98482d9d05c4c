//! Licences: model, JWS encoding, issuance and verification.
