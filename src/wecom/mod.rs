//! wecom: see ARCHITECTURE.md.
