//! The console's settings page(s) in headless Chromium (see console.rs for the shell).
