//! Harnesses shared by the workspace integration tests.
