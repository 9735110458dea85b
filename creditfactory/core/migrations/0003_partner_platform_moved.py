"""Idempotency keys, webhooks and usage statistics moved to the ``partners`` app with their
tables (``partners.0001``): they leave core's state only; the tables and rows stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_initial"),
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="WebhookDeliveryAttempt"),
            migrations.DeleteModel(name="WebhookDelivery"),
            migrations.DeleteModel(name="WebhookEndpoint"),
            migrations.DeleteModel(name="WebhookEvent"),
            migrations.DeleteModel(name="IdempotencyKey"),
            migrations.DeleteModel(name="ApiUsage"),
        ]),
    ]
