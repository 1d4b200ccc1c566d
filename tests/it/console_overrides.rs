//! The console's overrides page(s) in headless Chromium (see console.rs for the shell).
