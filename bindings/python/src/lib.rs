//! Python binding (placeholder until the Python issue lands).
