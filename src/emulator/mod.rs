//! emulator: see ARCHITECTURE.md.
