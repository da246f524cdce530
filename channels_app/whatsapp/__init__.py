"""WhatsApp Cloud API lines: the Graph check, webhook signatures, payload reading, delivery
statuses. No Django models here (docs/whatsapp.md)."""
