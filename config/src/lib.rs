//! Configuration: the TOML schema of adaptd and its validation.
