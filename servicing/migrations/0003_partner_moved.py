"""The partner moved to the ``partners`` app with its table: the foreign keys now name it
there. State only: the columns and their constraints do not change."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0001_initial'),
        ('servicing', '0002_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='creditline',
                name='partner',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_lines', to='partners.partner', verbose_name='partner'),
            ),
            migrations.AlterField(
                model_name='historicalcreditline',
                name='partner',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='partners.partner', verbose_name='partner'),
            ),
        ]),
    ]
