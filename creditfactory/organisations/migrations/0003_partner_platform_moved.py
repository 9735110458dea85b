"""Partners, their API keys and the partner's history moved to the ``partners`` app with their
tables (``partners.0001``): they leave this app's state only; the tables and rows stay. After the
apps whose foreign keys pointed here name the new place."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("organisations", "0002_standard_roles"),
        ("partners", "0001_initial"),
        ("core", "0003_partner_platform_moved"),
        ("workflows", "0004_partner_moved"),
        ("servicing", "0003_partner_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="HistoricalPartner_products"),
            migrations.DeleteModel(name="HistoricalPartner"),
            migrations.DeleteModel(name="PartnerApiKey"),
            migrations.DeleteModel(name="Partner"),
        ]),
    ]
