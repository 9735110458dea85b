"""The partner moved to the ``partners`` app with its table: the foreign key now names it
there. State only: the column and its constraint do not change."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0001_initial'),
        ('workflows', '0003_flow_task_names'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='creditapplication',
                name='partner',
                field=models.ForeignKey(blank=True, help_text='The channel that sent the application; it receives the webhooks.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='partners.partner', verbose_name='partner'),
            ),
        ]),
    ]
