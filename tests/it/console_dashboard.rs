//! The console's dashboard page(s) in headless Chromium (see console.rs for the shell).
