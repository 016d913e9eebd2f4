"""Pure-ASGI middleware, one concern each: admission, body limits, uploads, observability."""
