//! OFD documents (GB/T 33190) and the electronic seals and signatures they carry.
//!
//! - [`ses`]: the DER structures inside `SignedValue.dat` and `.esl` files (GB/T 38540 seals and
//!   signatures, GM/T 0031 v1/v2, GB/T 35275 `SignedData`, bare SM2 values), and the
//!   cryptographic checks on them.

pub mod ses;
