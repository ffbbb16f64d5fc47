//! Unit tests of the public API on hand-made problems with known answers.
