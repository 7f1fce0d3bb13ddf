"""The browser: settings, finding and launching Chromium, sessions with scrubbed traces."""
