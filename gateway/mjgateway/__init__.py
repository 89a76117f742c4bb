"""mjproxy-gateway: the Discord gateway listener (one websocket per enabled midjourney account),
forwarding events to the DiscordEventsQueue. Not part of the Lambda layer."""
