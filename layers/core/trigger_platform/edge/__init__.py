"""The Lambda edge: what every handler shares (resolver, problem+json, wiring). The domain never imports it."""
