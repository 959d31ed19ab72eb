"""The AsyncAPI 3.0 document of the bus: every event (from `EVENT_ADAPTER`'s schema) on
the topic exchange, and the queue each consumer receives them from (from the topology)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from photobus_common.events import EVENT_ADAPTER
from photobus_common.topology import ConsumerSpec, deployment_specs

REF = "#/components/schemas/{model}"


def asyncapi_document(
    *, version: str = "1", consumers: Sequence[ConsumerSpec] | None = None
) -> dict[str, Any]:
    schema = EVENT_ADAPTER.json_schema(mode="serialization", ref_template=REF)
    by_type: dict[str, str] = {
        event_type: ref.rsplit("/", 1)[1]
        for event_type, ref in sorted(schema["discriminator"]["mapping"].items())
    }
    messages = {
        model: {
            "name": event_type,
            "title": event_type,
            "summary": _summary(schema["$defs"][model]),
            "contentType": "application/json",
            "payload": {"$ref": REF.format(model=model)},
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": "0.3.0"}},
        }
        for event_type, model in by_type.items()
    }
    channels: dict[str, Any] = {
        "events": {
            "address": "{namespace}.events",
            "title": "The events exchange",
            "description": "Durable topic exchange; the routing key is the event type "
            "(`publish.requested.<destination>` for publish commands).",
            "parameters": {"namespace": {"default": "photobus"}},
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": "{namespace}.events", "type": "topic", "durable": True},
                    "bindingVersion": "0.3.0",
                }
            },
        }
    }
    operations: dict[str, Any] = {
        "publishEvent": {
            "action": "send",
            "channel": {"$ref": "#/channels/events"},
            "summary": "Every service publishes with publisher confirms, persistent, mandatory.",
            "messages": [{"$ref": f"#/channels/events/messages/{m}"} for m in messages],
        }
    }
    for spec in consumers if consumers is not None else deployment_specs():
        received = [m for t, m in by_type.items() if _bound(t, spec.routing_keys)]
        channels[spec.service] = {
            "address": "{namespace}." + spec.service,
            "title": f"The {spec.service} queue",
            "description": f"Quorum queue bound to {', '.join(spec.routing_keys)}; "
            f"retries after {', '.join(f'{d:g}s' for d in spec.retry_delays)}, "
            "then the dead-letter queue `.dlq`.",
            "parameters": {"namespace": {"default": "photobus"}},
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in received},
            "bindings": {
                "amqp": {
                    "is": "queue",
                    "queue": {"name": "{namespace}." + spec.service, "durable": True},
                    "bindingVersion": "0.3.0",
                }
            },
        }
        operations[f"receive-{spec.service}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{spec.service}"},
            "summary": f"{spec.service} consumes (manual acks, idempotent on event_id).",
            "messages": [{"$ref": f"#/channels/{spec.service}/messages/{m}"} for m in received],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "photobus events",
            "version": version,
            "description": "Every message is JSON of one event model; `event_id` is also "
            "the AMQP message_id, `type` the routing key.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schema["$defs"].items()))},
    }


def _bound(event_type: str, routing_keys: Sequence[str]) -> bool:
    """Whether a queue bound to `routing_keys` receives `event_type` (its key or a
    destination-narrowed one, `publish.requested.<destination>`)."""
    return any(
        key == "#" or key == event_type or key.startswith(event_type + ".") for key in routing_keys
    )


def _summary(model_schema: dict[str, Any]) -> str:
    description = str(model_schema.get("description", "")).strip()
    return description.split("\n", 1)[0] if description else str(model_schema.get("title", ""))
