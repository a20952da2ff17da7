"""Mail: composing messages into the outbox, and delivering it."""
