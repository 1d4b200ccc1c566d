//! The console's alerts page(s) in headless Chromium (see console.rs for the shell).
