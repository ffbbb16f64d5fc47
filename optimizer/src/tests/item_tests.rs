//! Per-item solver against brute force on random bases.
