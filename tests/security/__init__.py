"""Security suite for issue #10: scope over affected users, redaction before projection,
confirmation that fails closed on every protocol, limits on every input, liveness, flags."""
