"""The client portal: views and templates only; data comes from the apps' selectors."""
