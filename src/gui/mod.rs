//! gui: see ARCHITECTURE.md.
