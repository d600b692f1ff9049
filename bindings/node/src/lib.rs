//! Node binding (placeholder until the Node issue lands).
