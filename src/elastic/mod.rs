//! Elasticsearch: index setup, the bulk sink, and sync state.
