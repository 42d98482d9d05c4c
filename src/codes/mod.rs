//! Identifier codes, parsed once at the edge and carried as validated types.
