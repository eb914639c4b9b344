"""Browser tests of the built book and of the Binder set-up (Debian Chromium driven by Playwright)."""
