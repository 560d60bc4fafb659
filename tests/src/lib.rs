//! Cross-crate end-to-end tests for botkit. The tests live in `tests/tests/`; this library
//! is empty on purpose.
