//! The console's destinations page(s) in headless Chromium (see console.rs for the shell).
