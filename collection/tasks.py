"""Celery tasks of the collections app: thin, they call one service."""

from celery import shared_task


@shared_task(name="collection.send_reminders", acks_late=True)
def send_reminders() -> dict:
    """Daily in contact hours (beat entry ``collection.reminders``): the strategies' automated
    reminders for the business date. Safe to re-run: a reminder per case and day is de-duplicated
    and the daily contact limit holds."""
    from collection.services.reminders import collection_reminders_send

    return collection_reminders_send()
