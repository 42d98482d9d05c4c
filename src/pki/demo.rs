//! The demo PKI: public test material for the four demo regions.
